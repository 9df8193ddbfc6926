"""Apps exercising the WSGI contract, one behaviour each.

Used by tests/Unicorn.PythonBridge.Tests and by the end-to-end tests (echo_input, file_wrapper,
raise_before, sleeper): keep their behaviour stable.
"""

import json
import multiprocessing
import os
import signal
import sys
import threading
import time

TEXT = [("Content-Type", "text/plain")]


def environ_dump(environ, start_response):
    """Echoes environ as JSON (values that are not str shown by repr)."""
    out = {}
    for key, value in environ.items():
        out[key] = value if isinstance(value, str) else repr(value)
    out["_types"] = {k: type(v).__name__ for k, v in environ.items()}
    out["_version"] = list(environ["wsgi.version"])
    out["_input_class"] = type(environ["wsgi.input"]).__name__
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def echo_input(environ, start_response):
    """Reads wsgi.input the way the query string says (read, read:N, readline, readline:N, readlines, iter,
    read-or-error: a 400 naming the exception a failed read raised)."""
    inp = environ["wsgi.input"]
    mode = environ.get("QUERY_STRING", "read")
    parts = []
    if mode == "read":
        parts.append(inp.read())
    elif mode.startswith("read:"):
        n = int(mode.split(":")[1])
        while True:
            chunk = inp.read(n)
            parts.append(b"[" + chunk + b"]")
            if not chunk:
                break
    elif mode == "readline":
        while True:
            line = inp.readline()
            parts.append(b"[" + line + b"]")
            if not line:
                break
    elif mode.startswith("readline:"):
        n = int(mode.split(":")[1])
        while True:
            line = inp.readline(n)
            parts.append(b"[" + line + b"]")
            if not line:
                break
    elif mode == "readlines":
        parts = [b"[" + line + b"]" for line in inp.readlines()]
    elif mode == "iter":
        parts = [b"[" + line + b"]" for line in inp]
    elif mode == "read-or-error":
        try:
            parts.append(inp.read())
        except OSError as e:
            start_response("400 Bad Request", TEXT)
            return [("%s: %s" % (type(e).__name__, e)).encode()]
    start_response("200 OK", TEXT)
    return parts


def writer(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"one ")
    write(b"two ")
    return [b"three"]


def generator(environ, start_response):
    start_response("200 OK", TEXT)
    for i in range(3):
        yield b"chunk%d " % i


HELD = {}


def many_items(environ, start_response):
    """Fifty small items yielded back to back."""
    start_response("200 OK", TEXT)
    for i in range(50):
        yield b"%02d " % i


def held_then_slow(environ, start_response):
    """Two items back to back, then a pause before the last: the server may hold the second only until the
    pause has lasted a moment (PEP 3333: transmission continues while the app produces the next block)."""
    start_response("200 OK", TEXT)
    yield b"first "
    yield b"second "
    time.sleep(0.3)
    HELD["resumed"] = time.monotonic()
    yield b"third"


def held_then_gone(environ, start_response):
    """As held_then_slow, recording close() in CLOSED: the client goes away while the second item is held."""
    start_response("200 OK", TEXT)
    try:
        yield b"first "
        yield b"second "
        time.sleep(0.2)
        yield b"third"
    finally:
        CLOSED.append(True)


def slow_items(environ, start_response):
    """Each item takes the app a few milliseconds to produce (a feed, a query per item): each leaves at once."""
    start_response("200 OK", TEXT)
    for i in range(3):
        time.sleep(0.005)
        yield b"slow%d " % i


def lazy_start(environ, start_response):
    """start_response called only when the iterable is first pulled (allowed by PEP 3333)."""
    def body():
        start_response("200 OK", TEXT)
        yield b"late"
    return body()


class Closing:
    """An iterable recording close() in CLOSED."""

    def __init__(self, items, fail_at=None):
        self.items = items
        self.fail_at = fail_at

    def __iter__(self):
        for i, item in enumerate(self.items):
            if i == self.fail_at:
                raise ValueError("boom in iteration")
            yield item

    def close(self):
        CLOSED.append(True)


CLOSED = []


def one_item(environ, start_response):
    start_response("200 OK", TEXT)
    return [b"hello"]


def big_item(environ, start_response):
    start_response("200 OK", TEXT)
    return [b"x" * 20000]


def closing_ok(environ, start_response):
    start_response("200 OK", TEXT)
    return Closing([b"a", b"b", b"c"])


def closing_fails(environ, start_response):
    start_response("200 OK", TEXT)
    return Closing([b"a", b"b", b"c"], fail_at=1)


def raise_before(environ, start_response):
    raise ValueError("boom before headers")


def raise_after(environ, start_response):
    start_response("200 OK", TEXT)
    yield b"partial"
    raise ValueError("boom after headers")


def exc_info_replace(environ, start_response):
    start_response("200 OK", TEXT)
    try:
        raise KeyError("oops")
    except KeyError:
        start_response("503 Service Unavailable", TEXT, sys.exc_info())
    return [b"replaced"]


def second_call_without_exc_info(environ, start_response):
    start_response("200 OK", TEXT)
    start_response("404 Not Found", TEXT)
    return [b"never"]


EXC_INFO_AFTER = []


def exc_info_after_sent(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"sent")
    try:
        raise KeyError("late")
    except KeyError:
        try:
            start_response("500 Internal Server Error", TEXT, sys.exc_info())
        except KeyError as e:
            EXC_INFO_AFTER.append(repr(e))
            raise
    return [b"never"]


def bad_header(environ, start_response):
    start_response("200 OK", [("X-Bad", "a\r\nInjected: yes")])
    return [b"x"]


def header_not_str(environ, start_response):
    start_response("200 OK", [("X-Num", 5)])
    return [b"x"]


def body_not_bytes(environ, start_response):
    start_response("200 OK", TEXT)
    return ["text"]


def no_start_response(environ, start_response):
    return [b"x"]


def file_wrapper(environ, start_response):
    f = open(environ["QUERY_STRING"], "rb")
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](f, 4096)


FILE_CLOSED = []


class FakeFile:
    def __init__(self, data):
        self.data = data

    def read(self, n):
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk

    def close(self):
        FILE_CLOSED.append(True)


def file_wrapper_no_fileno(environ, start_response):
    start_response("200 OK", TEXT)
    return environ["wsgi.file_wrapper"](FakeFile(b"abcdefghij"), 3)


_local = threading.local()


def thread_local(environ, start_response):
    """Counts requests seen by this Python thread through threading.local."""
    _local.count = getattr(_local, "count", 0) + 1
    start_response("200 OK", TEXT)
    return [("%d %d" % (threading.get_ident(), _local.count)).encode()]


SIGNAL_RESULT = []


def steal_signal(environ, start_response):
    def handler(signum, frame):
        pass
    previous = signal.signal(signal.SIGTERM, handler)
    again = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    SIGNAL_RESULT[:] = [previous is handler or callable(previous), again is handler,
                        signal.getsignal(signal.SIGTERM) == signal.SIG_DFL]
    start_response("200 OK", TEXT)
    return [b"ok"]


def start_method(environ, start_response):
    start_response("200 OK", TEXT)
    return [multiprocessing.get_start_method().encode()]


def factory(greeting="hi", n=1):
    def app(environ, start_response):
        start_response("200 OK", TEXT)
        return [(greeting * n).encode()]
    return app


def factory_none():
    return None


not_callable = 42


class Holder:
    class inner:
        @staticmethod
        def app(environ, start_response):
            start_response("200 OK", TEXT)
            return [b"dotted"]


def env_value(environ, start_response):
    start_response("200 OK", TEXT)
    return [os.environ.get("UNICORN_TEST_ENV", "-").encode()]


WRITE_ERRORS = []


def write_until_gone(environ, start_response):
    """Keeps calling write() until the server reports the client gone."""
    write = start_response("200 OK", TEXT)
    try:
        for i in range(10):
            write(b"x" * 10)
    except OSError as e:
        WRITE_ERRORS.append(str(e))
        raise
    return [b"unreachable"]


def header_not_latin1(environ, start_response):
    start_response("200 OK", [("X-Price", "5 \u20ac")])
    return [b"x"]


def named_tuple_headers(environ, start_response):
    import collections
    Header = collections.namedtuple("Header", "name value")

    class Headers(list):
        pass

    start_response("200 OK", Headers([Header("X-Kind", "named")]))
    return [b"ok"]


def headers_changed_after_start_response(environ, start_response):
    """Changes its headers list after start_response: Gunicorn sends the headers as they were at the call."""
    headers = [("Content-Type", "text/plain"), ("X-Kind", "original")]
    start_response("200 OK", headers)
    headers[1] = ("X-Kind", "changed")
    headers.append(("X-Added", "after"))
    return [b"ok"]


def sleeper(environ, start_response):
    """Sleeps QUERY_STRING seconds (default 1) in Python, then answers "slept"."""
    import time
    time.sleep(float(environ.get("QUERY_STRING") or "1"))
    start_response("200 OK", TEXT)
    return [b"slept"]


MEETING = threading.Barrier(4)


def meeting(environ, start_response):
    """Waits (up to 30 s) for four requests to be in the app at once: "met" when they were, else "alone".
    "?ping" answers at once."""
    body = b"pong"
    if environ.get("QUERY_STRING") != "ping":
        try:
            MEETING.wait(30)
            body = b"met"
        except threading.BrokenBarrierError:
            MEETING.reset()
            body = b"alone"
    start_response("200 OK", TEXT)
    return [body]


RELEASE_STUCK = threading.Event()


def stuck(environ, start_response):
    """A stuck request (for the stack dump test): waits until the test releases it."""
    RELEASE_STUCK.wait(30)
    RELEASE_STUCK.clear()
    start_response("200 OK", TEXT)
    return [b"released"]


def multiprocessing_pool(environ, start_response):
    """Runs work in a child process through multiprocessing's default start method."""
    with multiprocessing.Pool(1) as pool:
        result = pool.apply(pow, (7, 2))
    start_response("200 OK", TEXT)
    return [b"%d %s" % (result, multiprocessing.get_start_method().encode())]


def system_exit(environ, start_response):
    raise SystemExit(3)
