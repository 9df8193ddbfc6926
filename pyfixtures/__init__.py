"""Small WSGI apps and config files used by Unicorn's tests."""
