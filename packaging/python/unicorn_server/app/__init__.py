"""Gunicorn's embedding API (gunicorn.app.base) for Unicorn: see unicorn_server.app.base."""
