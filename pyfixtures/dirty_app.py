"""Dirty arbiter fixtures: DirtyApps written for Gunicorn's API, and a WSGI app that calls them."""
import json
import os
import time

from gunicorn.dirty import DirtyApp, DirtyTimeoutError, get_dirty_client, stash

COUNTER = f"{__name__}:Counter"
HEAVY = f"{__name__}:Heavy"


class Counter(DirtyApp):
    """State kept across calls: a counter that lives in the dirty worker."""

    def init(self):
        self.count = 0

    def incr(self, by=1):
        self.count += by
        return {"count": self.count, "pid": os.getpid()}

    def square(self, x):
        return x * x

    def sleep(self, seconds, mark=None):
        if mark:
            open(mark, "w").close()  # tells a test the call has reached the dirty worker
        time.sleep(seconds)
        return "slept"

    def fail(self):
        raise ValueError("boom")


class Heavy(DirtyApp):
    """Loaded in one dirty worker only (module:Class:1 in the tests)."""

    def init(self):
        self.loaded_in = os.getpid()

    def where(self):
        return self.loaded_in


def app(environ, start_response):
    path = environ["PATH_INFO"]
    qs = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    try:
        client = get_dirty_client(timeout=60)
        if path == "/incr":
            result = client.execute(COUNTER, "incr", by=int(qs.get("by", 1)))
        elif path == "/square":
            result = client.execute(COUNTER, "square", int(qs["x"]))
        elif path == "/sleep":
            result = client.execute(COUNTER, "sleep", float(qs["s"]), qs.get("mark"))
        elif path == "/fail":
            result = client.execute(COUNTER, "fail")
        elif path == "/heavy":
            result = client.execute(HEAVY, "where")
        elif path == "/stash":
            stash.put("t", qs["k"], qs["v"])
            result = {"got": stash.get("t", qs["k"]), "keys": stash.keys("t"), "missing": stash.get("t", "nope", "dflt")}
        elif path == "/stash-get":
            result = stash.get("t", qs["k"], None)
        else:
            result = None
        body, status = json.dumps({"result": result}), "200 OK"
    except DirtyTimeoutError as e:
        body, status = json.dumps({"error": "timeout", "type": type(e).__name__}), "504 Gateway Timeout"
    except Exception as e:  # noqa: BLE001 - the test reads the error type
        body, status = json.dumps({"error": str(e), "type": type(e).__name__}), "500 Internal Server Error"
    data = body.encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
