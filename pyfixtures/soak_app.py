"""WSGI app for bench/soak --long: one master serves a plain WSGI app and a Flask app side by side.

A dispatcher rather than a second master, so one master's RSS and one set of workers are measured,
every HUP reloads both apps, and each worker's series holds the Flask and the plain traffic a real
mixed deployment would. /flask/... goes to pyfixtures.flask_app with the prefix moved into SCRIPT_NAME.
"""

from pyfixtures.bench_apps import body_length, hello, mebibyte
from pyfixtures.flask_app import app as flask_app

_PLAIN = {"/": hello, "/len": body_length, "/mib": mebibyte}


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path.startswith("/flask/"):
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/flask"
        environ["PATH_INFO"] = path[len("/flask"):]
        return flask_app(environ, start_response)
    target = _PLAIN.get(path)
    if target is None:
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"not found\n"]
    return target(environ, start_response)
