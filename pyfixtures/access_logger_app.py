"""An app that logs a line of its own through the gunicorn.access logger on /acc (AccessLoggerTests)."""
import logging


def app(environ, start_response):
    if environ["PATH_INFO"] == "/acc":
        logging.getLogger("gunicorn.access").info("app access line %s", environ["QUERY_STRING"])
    body = b"ok\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
