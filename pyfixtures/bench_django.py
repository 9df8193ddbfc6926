"""The Django project of bench/run's `django` scenario: pyfixtures/djangoproj (a `startproject` with its
default middleware) and its `bench/` view, a short HTML page rendered from a template.

Users serve it as `gunicorn djangoproj.wsgi` from the project's directory; this module does the same
import from the repository root, so every server is started with the same flags as in the other
scenarios and the report's command column stays comparable."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "djangoproj"))

from djangoproj.wsgi import application  # noqa: E402  (needs the path above)

__all__ = ["application"]
