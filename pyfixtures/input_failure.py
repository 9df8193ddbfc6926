"""Reads the whole request body; when the read fails (the client left before sending it), appends the error's type
and message to the file INPUT_FAILURE_NOTES names, for the test to compare across worker classes."""
import os


def app(environ, start_response):
    try:
        while environ["wsgi.input"].read(65536):
            pass
        body = b"read"
    except OSError as e:
        with open(os.environ["INPUT_FAILURE_NOTES"], "a") as notes:
            notes.write("%s: %s\n" % (type(e).__name__, e))
        body = b"failed"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
