"""An app whose import never ends in a spare (worker_spares), only there: the spares' boot allowance."""

import os
import time

if os.environ.get("UNICORN_WORKER_SPARE") == "1":
    while True:
        time.sleep(1)


def app(environ, start_response):
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
