"""WSGI app for the process-management tests: which worker answered, a request that sleeps, what a child inherits."""

import os
import subprocess
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
    elif path == "/child-env":
        # What a program the app starts inherits: NAME=VALUE lines.
        body = subprocess.check_output(["env"], timeout=30)
    elif path == "/child-version":
        # The program named by UNICORN_CHILD_PROGRAM, started by the app with --version: its output and exit code.
        done = subprocess.run([os.environ["UNICORN_CHILD_PROGRAM"], "--version"], capture_output=True, timeout=120)
        body = b"%d\n%s%s" % (done.returncode, done.stdout, done.stderr)
    else:
        body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _sleep_seconds(environ):
    """/sleep?s=SECONDS[&mark=PATH]: PATH is created once the request is in the app, for a test to wait on. (Here,
    not in app: a test finds app's time.sleep in a logged stack.)"""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    for mark in query.get("mark", []):
        open(mark, "w").close()
    return float(query.get("s", ["1"])[0])
