"""A misconfigured settings module: Django raises ImproperlyConfigured when the app is loaded."""
from .settings import *  # noqa: F401,F403

SECRET_KEY = ""
