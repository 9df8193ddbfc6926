"""WSGI app for the Prometheus endpoint test: a chosen status, and a request that sleeps."""

import time
from urllib.parse import parse_qs


def app(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    time.sleep(float(query.get("sleep", ["0"])[0]))
    status = query.get("status", ["200"])[0]
    body = b"ok"
    start_response(status + " X", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
