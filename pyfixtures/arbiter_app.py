"""WSGI app for the process-management tests: which worker answered, and a request that sleeps."""

import os
import time
from urllib.parse import parse_qs


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/sleep":
        seconds = _sleep_seconds(environ)
        time.sleep(seconds)
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


def _sleep_seconds(environ):
    """/sleep?s=SECONDS[&mark=PATH]: PATH is created once the request is in the app, for a test to wait on. (Here,
    not in app: a test reads the line number of app's time.sleep in a logged stack.)"""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    for mark in query.get("mark", []):
        open(mark, "w").close()
    return float(query.get("s", ["1"])[0])
