"""Apps for the greenlet worker tests (-k gevent, -k eventlet): slow, streaming, uploading, blocking."""

import contextvars
import hashlib
import socket
import sys
import threading
import time
import weakref

# What the app saw at import time: Gunicorn's greenlet workers patch before the app is imported.
IMPORTED_WITH = "%s %s %s" % (socket.socket.__module__, time.sleep.__module__, threading.Lock.__module__)

_running = 0
_most = 0

# /context: what an earlier request set here must not leak into a later one, even on a reused greenlet.
_REQUEST_VAR = contextvars.ContextVar("request_var", default="unset")
_served_by = weakref.WeakKeyDictionary()  # greenlet -> requests it served (a dead greenlet's entry goes with it)

# /context?wave=N: requests wait until N of them are in the app (at most 60 s), however spread out they arrived.
_wave = {"waiting": 0, "go": None}


def _wait_for_wave(size):
    if _wave["go"] is None or _wave["go"].is_set():
        _wave["go"], _wave["waiting"] = threading.Event(), 0  # threading is the library's once patched
    go = _wave["go"]
    _wave["waiting"] += 1
    if _wave["waiting"] >= size:
        go.set()
    else:
        go.wait(60)


# /local: greenlet-local state an earlier request set must be gone in a later one, even on a reused greenlet.
# threading.local is the library's local once patched; the library's own local class is asked for directly too.
if threading.local.__module__.startswith("gevent"):
    from gevent.local import local as _LibraryLocal
else:
    from eventlet.corolocal import local as _LibraryLocal


class _Defaulted(threading.local):
    def __init__(self):
        self.value = "unset"  # run again for each greenlet that first touches it


_thread_local = threading.local()
_library_local = _LibraryLocal()
_defaulted = _Defaulted()


def _text(start_response, body, status="200 OK"):
    body = body.encode() if isinstance(body, str) else body
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    global _running, _most
    path = environ["PATH_INFO"]
    query = environ.get("QUERY_STRING", "")
    if path == "/":
        return _text(start_response, "hello\n")
    if path == "/imported":
        return _text(start_response, IMPORTED_WITH)
    if path == "/multithread":
        return _text(start_response, repr((environ["wsgi.multithread"], environ["wsgi.multiprocess"])))
    if path == "/sleep":
        seconds = float(query or "1")
        _running += 1
        _most = max(_most, _running)
        try:
            time.sleep(seconds)
        finally:
            _running -= 1
        return _text(start_response, "slept\n")
    if path == "/sleep-noting-end":
        # A long poll that says on stderr what ended its wait early (a quick stop's GreenletExit).
        _running += 1
        _most = max(_most, _running)
        try:
            time.sleep(float(query or "60"))
        except BaseException as e:
            print("sleep ended by %s" % type(e).__name__, file=sys.stderr, flush=True)
            raise
        finally:
            _running -= 1
        return _text(start_response, "slept\n")
    if path == "/context":
        from greenlet import getcurrent
        if query.startswith("wave="):
            _wait_for_wave(int(query[5:]))
            time.sleep(1)  # the whole wave's timers start together, so they end in one batch
        elif query:
            time.sleep(float(query))  # a request that waited: the hub resumed its greenlet from a timer
        seen = _REQUEST_VAR.get()
        _REQUEST_VAR.set("set by an earlier request")
        me = getcurrent()
        _served_by[me] = _served_by.get(me, 0) + 1
        return _text(start_response, "%s %d" % (seen, _served_by[me]))
    if path == "/local":
        from greenlet import getcurrent
        me = getcurrent()
        thread = threading.current_thread()
        seen = [getattr(_thread_local, "value", "unset"), getattr(_library_local, "value", "unset"),
                _defaulted.value, getattr(thread, "app_value", "unset"), getattr(me, "app_value", "unset")]
        _thread_local.value = _library_local.value = _defaulted.value = thread.app_value = "leaked"
        if query == "attr":
            me.app_value = "leaked"
        elif query == "link":
            me.link(lambda _greenlet: None)  # expects the greenlet's end, so it must not serve another request
        _served_by[me] = _served_by.get(me, 0) + 1
        return _text(start_response, "%s %d %d" % (" ".join(seen), id(me), _served_by[me]))
    if path == "/timeout-left-running":
        # An app bug Gunicorn forgives: a timeout started and never cancelled fires into a greenlet that has ended.
        import gevent
        gevent.Timeout.start_new(float(query or "1"))
        return _text(start_response, "started\n")
    if path == "/headers-changed":
        # Changes its headers list after start_response: Gunicorn sends the headers as they were at the call.
        headers = [("Content-Type", "text/plain"), ("X-Kind", "original")]
        start_response("200 OK", headers)
        headers[1] = ("X-Kind", "changed")
        headers.append(("X-Added", "after"))
        return [b"ok"]
    if path == "/most":
        return _text(start_response, str(_most))
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def chunks():
            for i in range(20):
                time.sleep(0.05)
                yield b"chunk %02d\n" % i
        return chunks()
    if path == "/small-items":
        # 48,000 items of 1 KiB yielded without a pause: the server must send them as they come, not buffer them all.
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(48000 * 1024))])
        piece = b"s" * 1024
        if query == "list":
            return [piece] * 48000
        return (piece for _ in range(48000))
    if path == "/big":
        # 200 MiB in 64 KiB pieces: a client that never reads must hold only this greenlet.
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        piece = b"x" * 65536
        return (piece for _ in range(3200))
    if path == "/upload":
        digest = hashlib.sha256()
        total = 0
        stream = environ["wsgi.input"]
        while True:
            data = stream.read(100000)
            if not data:
                break
            total += len(data)
            digest.update(data)
        return _text(start_response, "%d %s" % (total, digest.hexdigest()))
    if path == "/upstream":
        # One call to a slow local service with urllib, as an app would: cooperative once patched.
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%s/" % query, timeout=60) as response:
            return _text(start_response, response.read())
    if path == "/subprocess":
        # subprocess.run as an app calls it (the library's subprocess once patched): cooperative, its exit status back.
        import subprocess
        done = subprocess.run(["sleep", query or "1"])
        return _text(start_response, "exit %d" % done.returncode)
    if path == "/log":
        # A line in the error log, after whatever this worker logged before it.
        import logging
        logging.getLogger("gunicorn.error").warning(query)
        return _text(start_response, "logged\n")
    if path == "/block":
        # Never yields: the hub cannot turn, so the heartbeat stops.
        end = time.monotonic() + 120
        while time.monotonic() < end:
            pass
        return _text(start_response, "unreachable\n")
    if path == "/objects":
        # Python objects alive after a full collection: flat across waves of requests unless something leaks.
        import gc
        gc.collect()
        return _text(start_response, str(len(gc.get_objects())))
    if path == "/file":
        # wsgi.file_wrapper over a regular file (sendfile) or, with ?bytesio, over a file-like object (iterated).
        import io
        import os
        import urllib.parse
        name = urllib.parse.unquote(query.split("&")[0])
        if query.endswith("&bytesio"):
            with open(name, "rb") as f:
                filelike, size = io.BytesIO(f.read()), os.path.getsize(name)
        else:
            filelike, size = open(name, "rb"), os.path.getsize(name)
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))])
        return environ["wsgi.file_wrapper"](filelike)
    if path == "/bad-status":
        # A status without a reason phrase (PEP 3333 wants "NNN Reason"): the server's 500, whatever the body's form.
        start_response("200", [("Content-Type", "text/plain")])
        return [b"ok"] if query != "stream" else iter([b"o", b"k"])
    if path == "/bad-header":
        start_response("200 OK", [("X-Val", "caf\u00e9 \u20ac")])
        return [b"ok"]
    return _text(start_response, "not found\n", "404 Not Found")
