"""Starts a thread while it is imported: a zygote cannot fork it safely (worker_start = fork, --preload)."""

import threading
import time

threading.Thread(target=time.sleep, args=(120,), name="import-poller", daemon=True).start()


def app(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]
