"""Counts its imports in the file $PRELOAD_COUNTER; answers with the pid that imported it and its own."""

import os

with open(os.environ["PRELOAD_COUNTER"], "a") as counter:
    counter.write("x")

IMPORTED_BY = os.getpid()


def app(environ, start_response):
    body = b"%d %d" % (IMPORTED_BY, os.getpid())
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
