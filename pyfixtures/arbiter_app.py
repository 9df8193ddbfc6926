"""WSGI app for the process-management tests: which worker answered, and a request that sleeps."""

import os
import time
from urllib.parse import parse_qs


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/sleep":
        query = parse_qs(environ.get("QUERY_STRING", ""))
        for mark in query.get("mark", []):
            open(mark, "w").close()  # tells a test the request has reached the app
        time.sleep(float(query.get("s", ["1"])[0]))
        body = b"slept"
    elif path == "/pid":
        body = str(os.getpid()).encode()
    elif path == "/env":
        name = parse_qs(environ.get("QUERY_STRING", "")).get("name", [""])[0]
        body = os.environ.get(name, "").encode()
    else:
        body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
