"""WSGI apps for bench/run (the framework scenarios' apps are in bench_flask and bench_django). Unicorn
and every Gunicorn worker class serve these same callables, so a difference in the numbers is the
server's, not the app's."""

import time

_HELLO = b"Hello, world!\n"
_MEBIBYTE = b"x" * (1 << 20)
_TEXT = [("Content-Type", "text/plain")]


def hello(environ, start_response):
    """The 14-byte hello world: measures the server's per-request overhead."""
    start_response("200 OK", _TEXT + [("Content-Length", "14")])
    return [_HELLO]


def body_length(environ, start_response):
    """Reads the whole request body and answers with its length in decimal."""
    size = len(environ["wsgi.input"].read())
    body = b"%d" % size
    start_response("200 OK", _TEXT + [("Content-Length", str(len(body)))])
    return [body]


def mebibyte(environ, start_response):
    """A 1 MiB response in one chunk: measures the write path."""
    start_response("200 OK", _TEXT + [("Content-Length", str(len(_MEBIBYTE)))])
    return [_MEBIBYTE]


_ITEM = b"y" * (16 << 10)


def stream(environ, start_response):
    """1 MiB as 64 items of 16 KiB from a generator, no Content-Length: chunked on HTTP/1.1, and each
    item must leave before the next (PEP 3333). Measures the streaming write path."""
    start_response("200 OK", _TEXT)
    for _ in range(64):
        yield _ITEM


def sleep50(environ, start_response):
    """Waits 50 ms like an app blocked on a database; measures concurrency, not CPU.
    time.sleep releases the GIL, and Gunicorn's gevent worker monkey-patches it."""
    time.sleep(0.05)
    start_response("200 OK", _TEXT + [("Content-Length", "6")])
    return [b"slept\n"]


def upstream20(environ, start_response):
    """One call to a local service that answers in 20 ms (bench/lib/upstream20.py, at $BENCH_UPSTREAM),
    made with urllib as an app would: the greenlet workers' monkey patching makes it cooperative."""
    import os
    import urllib.request
    with urllib.request.urlopen(os.environ["BENCH_UPSTREAM"], timeout=10) as response:
        body = response.read()
    start_response("200 OK", _TEXT + [("Content-Length", str(len(body)))])
    return [body]
