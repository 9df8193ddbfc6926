"""Flask logging through Gunicorn's error log, as Flask's deployment docs and countless apps do it: the app's logger
borrows the gunicorn.error logger's handlers and level at import."""
import logging

from flask import Flask

app = Flask(__name__)
gunicorn_logger = logging.getLogger("gunicorn.error")
app.logger.handlers = gunicorn_logger.handlers
app.logger.setLevel(gunicorn_logger.level)


@app.route("/")
def index():
    app.logger.debug("app debug line")
    app.logger.info("app info line")
    app.logger.warning("app warning line")
    try:
        1 / 0
    except ZeroDivisionError:
        app.logger.exception("app caught an error")
    return "logged"
