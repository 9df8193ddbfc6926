"""An app whose import never ends in a spare (worker_spares), only there: the spares' boot allowance. Spawned workers
only (--worker-start spawn): a worker takes the master's hand-over out of os.environ, and what a process started
with stays in /proc/self/environ, which for a forked worker is the zygote's."""

import os
import time

with open("/proc/self/environ", "rb") as _environ:
    _SPARE = b"UNICORN_WORKER_SPARE=1" in _environ.read().split(b"\0")

if _SPARE:
    while True:
        time.sleep(1)


def app(environ, start_response):
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
