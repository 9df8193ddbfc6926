"""Unicorn's dirty arbiters: a separate pool of Python processes for heavy, stateful work.

One module holds both halves. HTTP workers import it (as ``unicorn_dirty`` and, for Gunicorn apps, as
``gunicorn.dirty``) for the API apps call: ``DirtyApp``, the client and the stash. The master starts a plain
``python3`` running ``_main()`` from this source: the dirty arbiter, which forks the dirty workers, routes
each call to a worker that loaded the app, and keeps the stash.

Wire format between all of them: a 4-byte big-endian length, then a UTF-8 JSON object (bytes travel as
``{"__unicorn_bytes__": BASE64}``). A call whose action returns a generator (or an async generator) is
answered by ``chunk`` messages, then ``end`` (or ``error``), as Gunicorn 26's streaming results.
"""
# asyncio and inspect (with ssl, subprocess, ast and more behind them) are imported where they are used:
# every HTTP worker imports this module, and most never stream from an async dirty app.
import base64
import contextvars
import fnmatch
import importlib
import importlib.util
import itertools
import json
import logging
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import types

# Gunicorn 26.1 takes messages (and bytes values) of up to 64 MiB. Bytes travel here as base64, 4/3 their
# size: the frame may be that much bigger, so that the 50 MiB bytes value Gunicorn carries is carried here too.
MAX_MESSAGE = 64 * 1024 * 1024 * 4 // 3 + 1024 * 1024
SOCKET_ENV = "GUNICORN_DIRTY_SOCKET"
# The dirty arbiter's exit status when an app cannot load (Gunicorn's APP_LOAD_ERROR): the master stops.
APP_LOAD_ERROR = 4


# ---------------------------------------------------------------- errors

class DirtyError(Exception):
    """Base of every dirty arbiter error."""

    def __init__(self, message, details=None):
        self.message = message
        self.details = details or {}
        super().__init__(message)

    def __str__(self):
        return f"{self.message}: {self.details}" if self.details else self.message

    def to_dict(self):
        return {"error_type": type(self).__name__, "message": self.message, "details": self.details}

    @classmethod
    def from_dict(cls, data):
        error_class = _ERRORS.get(data.get("error_type"), DirtyError)
        error = Exception.__new__(error_class)
        error.message = data.get("message", "Unknown error")
        error.details = data.get("details") or {}
        Exception.__init__(error, error.message)
        error._set_attributes()
        return error

    def _set_attributes(self):
        """The attributes Gunicorn's subclasses carry (e.app_path, e.timeout, e.table_name...), from details,
        so an error that crossed the socket reads as one raised here."""
        for attribute, key in self._ATTRIBUTES:
            setattr(self, attribute, self.details.get(key))

    _ATTRIBUTES = ()


class DirtyTimeoutError(DirtyError):
    def __init__(self, message="Operation timed out", timeout=None):
        super().__init__(message, {"timeout": timeout} if timeout is not None else None)
        self._set_attributes()

    _ATTRIBUTES = (("timeout", "timeout"),)


class DirtyConnectionError(DirtyError):
    def __init__(self, message, socket_path=None):
        super().__init__(message, {"socket_path": socket_path} if socket_path else None)
        self._set_attributes()

    _ATTRIBUTES = (("socket_path", "socket_path"),)


class DirtyWorkerError(DirtyError):
    def __init__(self, message, worker_id=None, traceback=None):
        details = {k: v for k, v in (("worker_id", worker_id), ("traceback", traceback)) if v is not None}
        super().__init__(message, details)
        self._set_attributes()

    _ATTRIBUTES = (("worker_id", "worker_id"), ("traceback", "traceback"))


class DirtyAppError(DirtyError):
    def __init__(self, message, app_path=None, action=None, traceback=None):
        details = {k: v for k, v in (("app_path", app_path), ("action", action), ("traceback", traceback))
                   if v is not None}
        super().__init__(message, details)
        self._set_attributes()

    _ATTRIBUTES = (("app_path", "app_path"), ("action", "action"), ("traceback", "traceback"))


class DirtyAppNotFoundError(DirtyAppError):
    def __init__(self, app_path):
        super().__init__(f"Dirty app not found: {app_path}", app_path=app_path)


class DirtyNoWorkersAvailableError(DirtyError):
    def __init__(self, app_path, message=None):
        super().__init__(message or f"No dirty workers available for app: {app_path}", {"app_path": app_path})
        self._set_attributes()

    _ATTRIBUTES = (("app_path", "app_path"),)


class DirtyProtocolError(DirtyError):
    pass


class StashError(DirtyError):
    pass


class StashTableNotFoundError(StashError):
    def __init__(self, table_name):
        super().__init__(f"Stash table not found: {table_name}", {"table": table_name})
        self._set_attributes()

    _ATTRIBUTES = (("table_name", "table"),)


class StashKeyNotFoundError(StashError):
    def __init__(self, table_name, key):
        super().__init__(f"Key not found in stash table {table_name}: {key}", {"table": table_name, "key": key})
        self._set_attributes()

    _ATTRIBUTES = (("table_name", "table"), ("key", "key"))


_ERRORS = {c.__name__: c for c in (
    DirtyError, DirtyTimeoutError, DirtyConnectionError, DirtyWorkerError, DirtyAppError, DirtyAppNotFoundError,
    DirtyNoWorkersAvailableError, DirtyProtocolError, StashError, StashTableNotFoundError, StashKeyNotFoundError)}


# ---------------------------------------------------------------- wire format

_BYTES_KEY = "__unicorn_bytes__"


def _encode_default(value):
    # Gunicorn's binary protocol carries bytes; JSON carries them as base64.
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {_BYTES_KEY: base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _decode_hook(obj):
    if len(obj) == 1 and _BYTES_KEY in obj and isinstance(obj[_BYTES_KEY], str):
        return base64.b64decode(obj[_BYTES_KEY])
    return obj


def _dumps(message):
    """The frame for one message; raises TypeError/ValueError when a value cannot be sent."""
    data = json.dumps(message, default=_encode_default).encode("utf-8")
    if len(data) > MAX_MESSAGE:
        raise ValueError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE}")
    return struct.pack(">I", len(data)) + data


def _send(sock, message):
    sock.sendall(_dumps(message))


def _encode_request(message):
    """A caller's frame; arguments that cannot be sent (a set, a datetime, too big) raise DirtyProtocolError,
    a DirtyError as Gunicorn's client raises, not the TypeError/ValueError of the encoder."""
    try:
        return _dumps(message)
    except (TypeError, ValueError) as e:
        raise DirtyProtocolError(str(e)) from None


def _recv_exact(sock, size):
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _recv(sock):
    """The next message, or None at end of stream. A bad length or body raises DirtyProtocolError."""
    head = _recv_exact(sock, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > MAX_MESSAGE:
        raise DirtyProtocolError(f"message of {size} bytes exceeds {MAX_MESSAGE}")
    body = _recv_exact(sock, size)
    if body is None:
        return None
    try:
        message = json.loads(body.decode("utf-8"), object_hook=_decode_hook)
    except ValueError as e:
        raise DirtyProtocolError(f"malformed message: {e}") from None
    if not isinstance(message, dict):
        raise DirtyProtocolError("a message must be a JSON object")
    return message


def _error_reply(request_id, error):
    return {"id": request_id, "type": "error", "error": error.to_dict()}


# ---------------------------------------------------------------- the app base class

class DirtyApp:
    """Base class of dirty applications: instantiated and init() once per dirty worker that loads it;
    instance state persists across calls; close() at the worker's exit. ``workers = N`` (class attribute)
    or ``module:Class:N`` limits how many dirty workers load it."""

    workers = None

    def init(self):
        """Load heavy resources here (runs in the dirty worker, after fork)."""

    def __call__(self, action, *args, **kwargs):
        method = getattr(self, action, None)
        if method is None or action.startswith("_"):
            raise ValueError(f"Unknown action: {action}")
        return method(*args, **kwargs)

    def close(self):
        """Release resources at the worker's exit."""


def parse_dirty_app_spec(spec):
    """'module:Class' -> ('module:Class', None); 'module:Class:N' -> ('module:Class', N)."""
    parts = spec.split(":")
    if len(parts) == 2 and all(parts):
        return spec, None
    if len(parts) == 3 and parts[0] and parts[1]:
        try:
            count = int(parts[2])
        except ValueError:
            raise DirtyAppError(f"Invalid worker count in spec: {spec}", app_path=spec) from None
        if count < 1:
            raise DirtyAppError(f"Invalid worker count in spec: {spec} (must be >= 1)", app_path=spec)
        return f"{parts[0]}:{parts[1]}", count
    raise DirtyAppError(f"Invalid import path format: {spec}. Expected 'module.path:ClassName' or "
                        "'module.path:ClassName:N'", app_path=spec)


def _app_class(import_path):
    module_path, class_name = import_path.rsplit(":", 1)
    try:
        module = importlib.import_module(module_path)
    except ImportError as e:
        raise DirtyAppNotFoundError(import_path) from e
    app_class = getattr(module, class_name, None)
    if app_class is None:
        raise DirtyAppNotFoundError(import_path)
    if not isinstance(app_class, type):
        raise DirtyAppError(f"{import_path} is not a class", app_path=import_path)
    return app_class


def load_dirty_app(import_path):
    app_class = _app_class(import_path)
    try:
        app = app_class()
    except Exception as e:
        raise DirtyAppError(f"Failed to instantiate {import_path}: {e}", app_path=import_path) from e
    for name in ("init", "__call__", "close"):
        if not callable(getattr(app, name, None)):
            raise DirtyAppError(f"{import_path} is missing required method: {name}", app_path=import_path)
    return app


# ---------------------------------------------------------------- the client (HTTP workers)

_socket_path = None
_local = threading.local()


def set_dirty_socket_path(path):
    global _socket_path  # pylint: disable=global-statement
    _socket_path = path


def get_dirty_socket_path():
    path = _socket_path or os.environ.get(SOCKET_ENV)
    if not path:
        raise DirtyError("Dirty socket path not configured. Make sure dirty_workers > 0 and dirty_apps are "
                         "configured.")
    return path


class _Connection:
    """One connection to the dirty arbiter; one request at a time."""

    # The arbiter may be (re)starting: connecting waits for its socket this long at most.
    CONNECT_WAIT = 5.0

    def __init__(self, socket_path, timeout):
        self.socket_path = socket_path
        self.timeout = timeout
        self._sock = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def connect(self):
        if self._sock is not None:
            return
        deadline = time.monotonic() + min(self.CONNECT_WAIT, self.timeout or self.CONNECT_WAIT)
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.socket_path)
                self._sock = sock
                return
            except (FileNotFoundError, ConnectionRefusedError) as e:
                sock.close()
                if time.monotonic() >= deadline:
                    raise DirtyConnectionError(f"Cannot connect to the dirty arbiter: {e}", self.socket_path) from None
                time.sleep(0.05)
            except OSError as e:
                sock.close()
                raise DirtyConnectionError(f"Cannot connect to the dirty arbiter: {e}", self.socket_path) from None

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def call(self, message):
        with self._lock:
            reused = self._sock is not None
            self.connect()
            message["id"] = next(self._ids)
            frame = _encode_request(message)
            try:
                try:
                    self._sock.sendall(frame)
                except (BrokenPipeError, ConnectionResetError):
                    if not reused:
                        raise
                    # The arbiter this kept connection led to is gone (killed and replaced): nothing was
                    # sent, so the call goes once to the arbiter now listening on the same path.
                    self.close()
                    self.connect()
                    self._sock.sendall(frame)
                reply = _recv(self._sock)
            except socket.timeout:
                self.close()
                raise DirtyTimeoutError("Timed out waiting for the dirty arbiter", self.timeout) from None
            except (OSError, DirtyProtocolError) as e:
                self.close()
                raise DirtyConnectionError(f"Dirty arbiter connection failed: {e}", self.socket_path) from None
            if reply is None:
                self.close()
                raise DirtyConnectionError("The dirty arbiter closed the connection", self.socket_path)
        if reply.get("type") == "error":
            raise DirtyError.from_dict(reply.get("error") or {})
        return reply.get("result")


class DirtyClient:
    """Calls dirty apps: ``client.execute("module:Class", "action", *args, **kwargs)``."""

    def __init__(self, socket_path, timeout=30.0):
        self._conn = _Connection(socket_path, timeout)

    @property
    def socket_path(self):
        return self._conn.socket_path

    def connect(self):
        self._conn.connect()

    @property
    def timeout(self):
        return self._conn.timeout

    def execute(self, app_path, action, *args, **kwargs):
        return self._conn.call({"type": "request", "app_path": app_path, "action": action,
                                "args": list(args), "kwargs": kwargs})

    def stream(self, app_path, action, *args, **kwargs):
        """Iterates the chunks an action that returns a generator yields:
        ``for chunk in client.stream("module:Class", "generate", prompt): ...``"""
        return DirtyStreamIterator(self, app_path, action, args, kwargs)

    def stream_async(self, app_path, action, *args, **kwargs):
        """``async for chunk in client.stream_async(...)``: the same stream for async apps."""
        return DirtyAsyncStreamIterator(self, app_path, action, args, kwargs)

    async def connect_async(self):
        import asyncio
        await asyncio.get_running_loop().run_in_executor(None, self.connect)

    async def execute_async(self, app_path, action, *args, **kwargs):
        import asyncio
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.execute(app_path, action, *args, **kwargs))

    def close(self):
        self._conn.close()

    async def close_async(self):
        self.close()

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    async def __aenter__(self):
        await self.connect_async()
        return self

    async def __aexit__(self, *exc):
        self.close()


class DirtyStreamIterator:
    """The chunks of one streamed call. It has a connection of its own, so the client stays usable while
    it runs; it reads one chunk at a time, so a slow reader holds the dirty worker's generator back
    (back-pressure) instead of buffering. Closing it early (``break``, ``close()``) closes the
    connection, and the generator in the dirty worker is closed too. As Gunicorn's: the whole stream
    may take the client's ``timeout``, and each chunk at most ``idle_timeout`` (30 s or less)."""

    DEFAULT_IDLE_TIMEOUT = 30.0

    def __init__(self, client, app_path, action, args, kwargs, idle_timeout=None):
        self._conn = None
        self._exhausted = False
        self.client = client
        self.app_path = app_path
        self.action = action
        self.args = args
        self.kwargs = kwargs
        timeout = client.timeout
        self._idle_timeout = idle_timeout if idle_timeout is not None else (
            min(self.DEFAULT_IDLE_TIMEOUT, timeout) if timeout else self.DEFAULT_IDLE_TIMEOUT)
        self._deadline = None

    def __iter__(self):
        return self

    def __next__(self):
        if self._exhausted:
            raise StopIteration
        if self._conn is None:
            self._start()
        return self._read()

    def _start(self):
        timeout = self.client.timeout
        self._conn = _Connection(self.client.socket_path, timeout)
        self._deadline = time.monotonic() + timeout if timeout else None
        try:
            self._conn.connect()
            self._conn._sock.sendall(_encode_request(  # pylint: disable=protected-access
                {"type": "request", "id": 1, "app_path": self.app_path, "action": self.action,
                 "args": list(self.args), "kwargs": self.kwargs}))
        except OSError as e:
            self._finish()
            raise DirtyConnectionError(f"Dirty arbiter connection failed: {e}", self.client.socket_path) from None
        except BaseException:
            self._finish()
            raise

    def _read(self):
        wait = self._idle_timeout
        if self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                self._finish()
                raise DirtyTimeoutError("Stream exceeded total timeout", self.client.timeout)
            wait = min(wait, remaining)
        sock = self._conn._sock  # pylint: disable=protected-access
        try:
            sock.settimeout(wait)
            message = _recv(sock)
        except socket.timeout:
            self._finish()
            if self._deadline is not None and time.monotonic() >= self._deadline:
                raise DirtyTimeoutError("Stream exceeded total timeout", self.client.timeout) from None
            raise DirtyTimeoutError(f"Timeout waiting for next chunk (idle {wait:.1f}s)", self._idle_timeout) from None
        except (OSError, DirtyProtocolError) as e:
            self._finish()
            raise DirtyConnectionError(f"Dirty arbiter connection failed: {e}", self.client.socket_path) from None
        if message is None:
            self._finish()
            raise DirtyConnectionError("The dirty arbiter closed the connection", self.client.socket_path)
        kind = message.get("type")
        if kind == "chunk":
            return message.get("data")
        self._finish()
        if kind == "end":
            raise StopIteration
        if kind == "error":
            raise DirtyError.from_dict(message.get("error") or {})
        if kind == "response":
            # The action returned a value, not a generator: that value is the only chunk.
            return message.get("result")
        raise DirtyError(f"Unknown message type: {kind}")

    def _finish(self):
        self._exhausted = True
        if self._conn is not None:
            self._conn.close()

    def close(self):
        """Stops the stream: the dirty worker's generator is closed."""
        self._finish()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self._finish()


class DirtyAsyncStreamIterator:
    """``async for`` over a streamed call: the sync iterator's reads run in the loop's executor."""

    def __init__(self, client, app_path, action, args, kwargs, idle_timeout=None):
        self._stream = DirtyStreamIterator(client, app_path, action, args, kwargs, idle_timeout)

    def __aiter__(self):
        return self

    async def __anext__(self):
        done = object()

        def step():
            try:
                return next(self._stream)
            except StopIteration:
                return done

        import asyncio
        chunk = await asyncio.get_running_loop().run_in_executor(None, step)
        if chunk is done:
            raise StopAsyncIteration
        return chunk

    async def aclose(self):
        self._stream.close()

    def close(self):
        self._stream.close()


def get_dirty_client(timeout=30.0):
    """This thread's client (one connection per thread, reused across requests)."""
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = DirtyClient(get_dirty_socket_path(), timeout)
    return client


# As Gunicorn's: the async client is per context (each request's task has its own), not per thread. One per
# thread made every request of an ASGI worker share one connection, so their dirty calls ran one at a time.
_async_client = contextvars.ContextVar("unicorn_dirty_async_client")


async def get_dirty_client_async(timeout=30.0):
    client = _async_client.get(None)
    if client is None:
        client = DirtyClient(get_dirty_socket_path(), timeout)
        _async_client.set(client)
    return client


def close_dirty_client():
    client = getattr(_local, "client", None)
    if client is not None:
        client.close()
        _local.client = None


async def close_dirty_client_async():
    client = _async_client.get(None)
    if client is not None:
        client.close()
        _async_client.set(None)


# ---------------------------------------------------------------- the stash (shared tables in the arbiter)

class StashClient:
    def __init__(self, socket_path, timeout=30.0):
        self._conn = _Connection(socket_path, timeout)

    def _execute(self, op, table=None, key=None, value=None, pattern=None):
        return self._conn.call({"type": "stash", "op": op, "table": table, "key": key, "value": value,
                                "pattern": pattern})

    def put(self, table, key, value):
        self._execute("put", table, key, value)

    def get(self, table, key, default=None):
        try:
            return self._execute("get", table, key)
        except (StashKeyNotFoundError, StashTableNotFoundError):
            return default

    def delete(self, table, key):
        return self._execute("delete", table, key)

    def keys(self, table, pattern=None):
        return self._execute("keys", table, pattern=pattern)

    def clear(self, table):
        self._execute("clear", table)

    def info(self, table):
        return self._execute("info", table)

    def ensure(self, table):
        self._execute("ensure", table)

    def exists(self, table, key=None):
        return self._execute("exists", table, key)

    def delete_table(self, table):
        return self._execute("delete_table", table)

    def tables(self):
        return self._execute("tables")

    def table(self, name):
        return StashTable(self, name)

    def close(self):
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class StashTable:
    """Dict-like view of one stash table."""

    def __init__(self, client, name):
        self._client = client
        self._name = name

    @property
    def name(self):
        return self._name

    def __getitem__(self, key):
        try:
            return self._client._execute("get", self._name, key)  # pylint: disable=protected-access
        except StashTableNotFoundError:
            raise KeyError(key) from None
        except StashKeyNotFoundError:
            raise KeyError(key) from None

    def __setitem__(self, key, value):
        self._client.put(self._name, key, value)

    def __delitem__(self, key):
        if not self._client.delete(self._name, key):
            raise KeyError(key)

    def __contains__(self, key):
        return self._client.exists(self._name, key)

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return self._client.info(self._name)["size"]

    def get(self, key, default=None):
        return self._client.get(self._name, key, default)

    def keys(self, pattern=None):
        return self._client.keys(self._name, pattern)

    def clear(self):
        self._client.clear(self._name)

    def items(self):
        return [(k, self[k]) for k in self.keys()]

    def values(self):
        return [self[k] for k in self.keys()]


def _stash_client():
    client = getattr(_local, "stash", None)
    if client is None:
        client = _local.stash = StashClient(get_dirty_socket_path())
    return client


def _stash_module():
    """``gunicorn.dirty.stash``: module functions over this thread's StashClient."""
    module = types.ModuleType(__name__ + ".stash")
    for cls in (StashClient, StashTable, StashError, StashTableNotFoundError, StashKeyNotFoundError):
        setattr(module, cls.__name__, cls)
    for op in ("put", "get", "delete", "keys", "clear", "info", "ensure", "exists", "delete_table", "tables",
               "table"):
        setattr(module, op, (lambda name: lambda *a, **kw: getattr(_stash_client(), name)(*a, **kw))(op))
    module.set_stash_socket_path = set_dirty_socket_path
    module.get_stash_socket_path = get_dirty_socket_path
    return module


stash = _stash_module()


class _Stash:
    """The tables themselves, kept by the arbiter."""

    def __init__(self):
        self._tables = {}
        self._lock = threading.Lock()

    def _table(self, name):
        if name not in self._tables:
            raise StashTableNotFoundError(name)
        return self._tables[name]

    def run(self, m):  # noqa: C901 - one branch per operation reads best
        op, name, key = m.get("op"), m.get("table"), m.get("key")
        with self._lock:
            if op == "tables":
                return sorted(self._tables)
            if not isinstance(name, str):
                raise StashError("a stash operation needs a table name")
            if op == "put":
                self._tables.setdefault(name, {})[key] = m.get("value")
                return None
            if op == "ensure":
                self._tables.setdefault(name, {})
                return None
            if op == "exists":
                return name in self._tables and (key is None or key in self._tables[name])
            if op == "delete_table":
                return self._tables.pop(name, None) is not None
            # As Gunicorn 26.1's arbiter: a table nobody has written to yet is empty for these three
            # (its examples/dirty_example clears "sessions" before any login); get and info still raise.
            if op in ("delete", "keys", "clear") and name not in self._tables:
                return [] if op == "keys" else (False if op == "delete" else None)
            table = self._table(name)
            if op == "get":
                if key not in table:
                    raise StashKeyNotFoundError(name, key)
                return table[key]
            if op == "delete":
                return table.pop(key, _MISSING) is not _MISSING
            if op == "keys":
                pattern = m.get("pattern")
                return [k for k in table if pattern is None or fnmatch.fnmatchcase(str(k), pattern)]
            if op == "clear":
                table.clear()
                return None
            if op == "info":
                # Gunicorn 26.1 answers {"size", "table"}; "name" is kept for apps written against Unicorn.
                return {"name": name, "table": name, "size": len(table)}
        raise StashError(f"unknown stash operation: {op}")


_MISSING = object()


# ---------------------------------------------------------------- the arbiter (a process of its own)

class DirtyWorker:
    """The arbiter's record of one dirty worker; also the object the dirty hooks receive."""

    def __init__(self, age, app_paths, socket_path, cfg, log):
        self.age = age
        self.pid = None
        self.app_paths = app_paths
        self.socket_path = socket_path
        self.cfg = cfg
        self.log = log
        self.apps = {}
        self.ready = False
        self.retiring = False
        self.inflight = 0
        self.ready_fd = None


def _app_specs(apps):
    """(import path, worker limit or None) for each dirty_apps entry; imports each app's module."""
    specs = []
    for spec in apps:
        path, count = parse_dirty_app_spec(spec)
        if count is None:
            count = getattr(_app_class(path), "workers", None)
        specs.append((path, count))
    return specs


class _Settings:
    """Gunicorn's Config as a dirty hook reads it (arbiter.cfg, worker.cfg): cfg.<setting> is its resolved value."""

    def __init__(self, values):
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name):
        try:
            return object.__getattribute__(self, "_values")[name]
        except KeyError:
            raise AttributeError("No configuration setting for: %s" % name) from None

    def __setattr__(self, name, value):
        raise AttributeError("Invalid access!")


class DirtyArbiter:
    def __init__(self, conf, log):
        self.conf = conf  # what the master passed (UNICORN_DIRTY_CONFIG); cfg is the hooks' view of its settings
        self.cfg = _Settings(conf.get("settings") or {})
        self.log = log
        self.pid = os.getpid()
        self.ppid = conf["ppid"]
        self.socket_path = conf["socket"]
        self.num_workers = conf["workers"]
        self.threads = max(1, conf["threads"])
        self.timeout = conf["timeout"] or None
        self.workers = {}
        self.alive = True
        self.boot_failed = False
        self.hooks = conf["hooks"]
        self._ages = itertools.count(1)
        self._cond = threading.Condition()
        self._turns = {}  # app path -> calls routed, for taking turns among equally busy workers
        self._stash = _Stash()
        self._signals = []
        self.specs = _app_specs(conf["apps"])
        self._listener = None
        self._clients = set()

    # -- hooks and helpers
    def _hook(self, name, *args):
        hook = self.hooks.get(name)
        if hook is None:
            return
        try:
            hook(*args)
        except Exception:  # a hook's bug is logged, the pool goes on (as Gunicorn)
            self.log.exception("Exception in %s hook", name)

    def minimum_workers(self):
        return max([count for _, count in self.specs if count] or [1])

    # -- main loop
    def run(self):
        self.log.info("Dirty arbiter starting (pid: %s)", self.pid)
        self._hook("on_dirty_starting", self)
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU,
                    signal.SIGUSR1, signal.SIGCHLD):
            signal.signal(sig, lambda s, _f: self._signals.append(s))
        self._listen()
        self.log.info("Dirty arbiter listening on %s", self.socket_path)
        threading.Thread(target=self._accept_loop, name="dirty-accept", daemon=True).start()
        quick = False
        while self.alive:
            self.manage_workers()
            fds = [wake_r] + [w.ready_fd for w in self.workers.values() if w.ready_fd is not None]
            readable, _, _ = select.select(fds, [], [], 1.0)
            if wake_r in readable:
                os.read(wake_r, 4096)
            for worker in list(self.workers.values()):
                if worker.ready_fd in readable:
                    self._on_ready(worker)
            while self._signals:
                quick = self._handle_signal(self._signals.pop(0)) or quick
            self.reap()
            if os.getppid() != self.ppid:
                self.log.warning("Parent changed, shutting down dirty arbiter")
                self.alive = False
        self.stop(quick)

    def _handle_signal(self, sig):
        if sig == signal.SIGTTIN:
            self.num_workers += 1
            self.log.info("SIGTTIN: Increasing dirty workers to %s", self.num_workers)
        elif sig == signal.SIGTTOU:
            if self.num_workers <= self.minimum_workers():
                self.log.warning("SIGTTOU: Cannot decrease below %s workers (required by app specs)",
                                 self.minimum_workers())
            else:
                self.num_workers -= 1
                self.log.info("SIGTTOU: Decreasing dirty workers to %s", self.num_workers)
        elif sig == signal.SIGHUP:
            self._reload_settings()
            self.log.info("Reloading dirty workers")
            for worker in self.workers.values():
                self._retire(worker)
        elif sig == signal.SIGUSR1:
            try:
                _reopen_log(self.log, self.conf)
            except OSError as e:
                self.log.error("Error reopening the log file, keeping the current one: %s", e)
        elif sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            self.alive = False
            return sig != signal.SIGTERM
        return False

    def _reload_settings(self):
        """HUP: the master left the reloaded settings next to the socket. The new dirty_apps, dirty_workers,
        dirty_threads, dirty_timeout, dirty_graceful_timeout, hooks and log settings apply to the workers
        that replace the current ones; the stash is kept. Settings that cannot load leave the current ones."""
        path = os.path.join(os.path.dirname(self.socket_path), "reload.json")
        try:
            with open(path, "rb") as f:
                new = json.loads(f.read().decode("utf-8"))
            os.unlink(path)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:
            self.log.error("Error reading the reloaded dirty settings, keeping the current ones: %s", e)
            return
        for path_entry in reversed(new.get("pythonpath") or []):
            if path_entry not in sys.path:
                sys.path.insert(0, path_entry)
        try:
            specs = _app_specs(new["apps"])
            hooks = _load_hooks(new.get("config"), new.get("hook_paths"))
        except Exception as e:  # pylint: disable=broad-except - an app or hook that cannot load is the operator's to fix
            reason = e.message if isinstance(e, DirtyError) else f"{type(e).__name__}: {e}"
            if e.__cause__ is not None:
                reason += f" ({type(e.__cause__).__name__}: {e.__cause__})"
            self.log.error("Error reloading the dirty apps, keeping the current ones: %s", reason)
            return
        for key in ("socket", "ppid"):
            new[key] = self.conf[key]
        new["hooks"] = hooks
        changed = sorted(k for k in ("apps", "workers", "threads", "timeout", "graceful_timeout")
                         if new.get(k) != self.conf.get(k))
        with self._cond:
            self.conf = new
            self.cfg = _Settings(new.get("settings") or {})
            self.specs = specs
            self.hooks = hooks
            self.num_workers = max(new["workers"], self.minimum_workers())
            self.threads = max(1, new["threads"])
            self.timeout = new["timeout"] or None
            self._cond.notify_all()
        try:
            _reopen_log(self.log, new)
            self.log.setLevel((new.get("loglevel") or "info").upper())
        except (OSError, ValueError) as e:
            self.log.error("Error reloading the dirty arbiter's log settings, keeping the current ones: %s", e)
        if changed:
            self.log.info("Dirty arbiter settings reloaded: %s", ", ".join(f"dirty_{k}" for k in changed))

    def _listen(self):
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(self.socket_path)
        finally:
            os.umask(old)
        sock.listen(128)
        self._listener = sock

    def _accept_loop(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve_client, args=(conn,), daemon=True).start()

    # -- routing
    def _serve_client(self, conn):
        with self._cond:
            self._clients.add(conn)
        try:
            self._serve_client_messages(conn)
        finally:
            with self._cond:
                self._clients.discard(conn)
            conn.close()

    def _serve_client_messages(self, conn):
        while True:
            try:
                message = _recv(conn)
            except DirtyProtocolError as e:
                _send_quietly(conn, _error_reply(None, e))
                return
            except OSError:
                return
            if message is None:
                return
            request_id = message.get("id")
            try:
                if message.get("type") == "stash":
                    reply = {"id": request_id, "type": "response", "result": self._stash.run(message)}
                elif message.get("type") == "request":
                    reply = self._route(message, conn)
                    if reply is None:
                        return  # the caller went away during a stream
                elif message.get("type") == "status":
                    reply = {"id": request_id, "type": "response", "result": self.status()}
                elif message.get("type") == "manage":
                    reply = {"id": request_id, "type": "response", "result": self.manage(message)}
                else:
                    raise DirtyProtocolError(f"unknown message type: {message.get('type')!r}")
            except DirtyError as e:
                reply = _error_reply(request_id, e)
            except Exception as e:  # pylint: disable=broad-except - a bad message never ends the arbiter's thread silently
                reply = _error_reply(request_id, DirtyProtocolError(f"bad request: {type(e).__name__}: {e}"))
            if not _send_quietly(conn, reply):
                return

    def _pick(self, app_path, deadline):
        if app_path not in [path for path, _ in self.specs]:
            # Gunicorn's arbiter answers an app no worker loads as it answers one whose workers are all down.
            raise DirtyNoWorkersAvailableError(app_path)
        with self._cond:
            while True:
                free = [w for w in self.workers.values()
                        if w.ready and not w.retiring and app_path in w.app_paths and w.inflight < self.threads]
                if free:
                    # The least busy, taking turns among equals (Gunicorn's round-robin), so a worker's own state
                    # (a warmed cache, a loaded model) is not the oldest worker's alone.
                    least = min(w.inflight for w in free)
                    equals = sorted((w for w in free if w.inflight == least), key=lambda w: w.age)
                    turn = self._turns.get(app_path, 0)
                    self._turns[app_path] = turn + 1
                    worker = equals[turn % len(equals)]
                    worker.inflight += 1
                    return worker
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise DirtyNoWorkersAvailableError(app_path)
                self._cond.wait(remaining)

    def _route(self, message, client):
        """Runs one call on a dirty worker; returns the reply for the caller. The chunks of a streamed result
        are passed to the caller one at a time as they come (None: the caller went away mid-stream)."""
        app_path, action = message.get("app_path"), message.get("action")
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        worker = self._pick(app_path, deadline)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                remaining = None if deadline is None else max(0.001, deadline - time.monotonic())
                sock.settimeout(remaining)
                try:
                    sock.connect(worker.socket_path)
                    _send(sock, message)
                    reply = _recv(sock)
                    while reply is not None and reply.get("type") == "chunk":
                        # A stream: dirty_timeout bounds each chunk's wait, as in Gunicorn. While the caller
                        # reads slowly, the send below blocks and the worker's generator waits on its socket.
                        reply["id"] = message.get("id")
                        if not _send_quietly(client, reply):
                            return None
                        sock.settimeout(self.timeout)
                        reply = _recv(sock)
                except socket.timeout:
                    self.log.warning("Dirty worker (pid:%s) timed out running %s.%s after %ss: killing it",
                                     worker.pid, app_path, action, self.conf["timeout"])
                    _kill(worker.pid, signal.SIGKILL)
                    raise DirtyTimeoutError(f"Execution of {app_path}.{action} timed out", self.conf["timeout"]) \
                        from None
                except (OSError, DirtyProtocolError) as e:
                    raise DirtyWorkerError(f"Dirty worker failed: {e}", worker.pid) from None
                if reply is None:
                    raise DirtyWorkerError("Dirty worker exited while running the request", worker.pid)
                reply["id"] = message.get("id")
                return reply
        finally:
            with self._cond:
                worker.inflight -= 1
                self._cond.notify_all()

    # -- the master's control socket: `show dirty`, `dirty add|remove` (Gunicorn 26's reply shapes)
    def status(self):
        with self._cond:
            workers = [{"pid": w.pid, "age": w.age, "apps": list(w.app_paths), "booted": w.ready,
                        "inflight": w.inflight} for w in self.workers.values() if not w.retiring]
        apps = []
        for path, count in self.specs:
            pids = [w["pid"] for w in workers if path in w["apps"]]
            apps.append({"import_path": path, "worker_count": count, "current_workers": len(pids),
                         "worker_pids": pids})
        return {"enabled": True, "pid": self.pid, "target_workers": self.num_workers, "workers": workers,
                "apps": apps}

    def manage(self, message):
        op = message.get("op")
        try:
            count = max(1, int(message.get("count", 1)))
        except (TypeError, ValueError):
            raise DirtyError(f"Invalid count: {message.get('count')!r}") from None
        if op == "add":
            self.num_workers += count
            changed = count
        elif op == "remove":
            changed = max(0, min(count, self.num_workers - self.minimum_workers()))
            self.num_workers -= changed
        else:
            raise DirtyError(f"Unknown manage operation: {op}")
        self.log.info("Worker management: %s %d workers (target: %d)", op, changed, self.num_workers)
        os.kill(self.pid, signal.SIGCHLD)  # wakes the main loop, which spawns or retires
        key = "spawned" if op == "add" else "removed"
        # The main loop spawns or retires after this reply: count the workers as they will be, as Gunicorn's
        # reply (sent once its spawns are done) does.
        total = max(0, len(self.workers) + (changed if op == "add" else -changed))
        return {"success": True, "operation": op, "requested": count, key: changed,
                "total_workers": total, "target_workers": self.num_workers}

    # -- workers
    def manage_workers(self):
        if not self.alive:
            return
        live = [w for w in self.workers.values() if not w.retiring]
        for _ in range(self.num_workers - len(live)):
            if not self._apps_for_new_worker():
                break  # every app is limited to N workers and has them: a new worker would be idle
            self.spawn_worker()
        live = [w for w in self.workers.values() if not w.retiring]
        surplus = len(live) - self.num_workers
        if surplus > 0:
            # Newest first, sparing workers that hold an app limited to N workers.
            limited = {path for path, count in self.specs if count}
            victims = sorted(live, key=lambda w: (bool(limited & set(w.app_paths)), -w.age))[:surplus]
            for worker in victims:
                self._retire(worker)

    def _retire(self, worker):
        with self._cond:
            worker.retiring = True
        _kill(worker.pid, signal.SIGTERM)

    def _apps_for_new_worker(self):
        live = [w for w in self.workers.values() if not w.retiring]
        return [path for path, count in self.specs
                if count is None or sum(path in w.app_paths for w in live) < count]

    def spawn_worker(self):
        age = next(self._ages)
        # The arbiter's pid in the name: a replacement arbiter counts ages from 1 again while the workers
        # of the one that died still hold their sockets (until they notice, within a second).
        name = f"worker-{os.getpid()}-{age}.sock"
        worker = DirtyWorker(age, self._apps_for_new_worker(),
                             os.path.join(os.path.dirname(self.socket_path), name), self.cfg, self.log)
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(ready_r)
            code = 0
            try:
                self._listener.close()
                # A forked copy of a client's socket would keep it open after the arbiter closes it.
                for client in list(self._clients):
                    client.close()
                signal.set_wakeup_fd(-1)
                worker.pid = os.getpid()
                _set_title(f"unicorn: dirty-worker [{self.conf.get('proc_name')}]")
                _WorkerProcess(self, worker, ready_w).run()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except BaseException:  # pylint: disable=broad-except
                self.log.exception("Exception in dirty worker process")
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        os.close(ready_w)
        worker.pid = pid
        worker.ready_fd = ready_r
        with self._cond:
            self.workers[pid] = worker
        self.log.info("Spawned dirty worker (pid: %s) with apps: %s", pid, ", ".join(worker.app_paths))

    def _on_ready(self, worker):
        os.read(worker.ready_fd, 16)
        os.close(worker.ready_fd)
        worker.ready_fd = None
        with self._cond:
            worker.ready = True
            self._cond.notify_all()

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            with self._cond:
                worker = self.workers.pop(pid, None)
                self._cond.notify_all()
            if worker is None:
                continue
            if worker.ready_fd is not None:
                os.close(worker.ready_fd)
            if os.WIFSIGNALED(status):
                self.log.warning("Dirty worker (pid:%s) killed by signal %s", pid, os.WTERMSIG(status))
            elif os.WEXITSTATUS(status) != 0 and not worker.ready:
                self.log.error("Dirty worker failed to boot (pid:%s)", pid)
                # An app that cannot load would fail again at once: stop instead of spinning.
                if not worker.retiring:
                    self.alive = False
                    self.boot_failed = True
            else:
                self.log.info("Dirty worker exited (pid:%s)", pid)
            self._hook("dirty_worker_exit", self, worker)
            if os.path.exists(worker.socket_path):
                os.unlink(worker.socket_path)

    def stop(self, quick):
        self._listener.close()
        for worker in list(self.workers.values()):
            _kill(worker.pid, signal.SIGQUIT if quick else signal.SIGTERM)
        limit = time.monotonic() + (2 if quick else self.conf["graceful_timeout"])
        while self.workers and time.monotonic() < limit:
            self.reap()
            time.sleep(0.05)
        for worker in list(self.workers.values()):
            _kill(worker.pid, signal.SIGKILL)
        limit = time.monotonic() + 2
        while self.workers and time.monotonic() < limit:
            self.reap()
            time.sleep(0.05)
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        if os.getppid() != self.ppid:
            # The master died without cleaning up: its private directory is ours to remove.
            try:
                os.rmdir(os.path.dirname(self.socket_path))
            except OSError:
                pass
        self.log.info("Dirty arbiter exiting (pid: %s)", self.pid)


class _WorkerProcess:
    """Runs in the forked dirty worker: load the apps, then serve calls, dirty_threads at a time."""

    def __init__(self, arbiter, worker, ready_w):
        self.arbiter = arbiter
        self.worker = worker
        self.log = arbiter.log
        self._ready_w = ready_w
        # Plain flags, not a threading.Event: the signal handlers set them, and Event.set() takes a lock that a
        # second TERM (the arbiter's, right after a `kill -TERM -- -PGID` or systemd's) arriving inside the first
        # handler tried to take again: the worker hung until dirty_graceful_timeout's SIGKILL, close() not run.
        self._stopping = False
        self._quick = False
        self._busy = 0
        self._idle = threading.Condition()

    def run(self):
        for sig in (signal.SIGTTIN, signal.SIGTTOU, signal.SIGHUP, signal.SIGCHLD, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL if sig == signal.SIGCHLD else signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: self._stop(False))
        signal.signal(signal.SIGINT, lambda *_: self._stop(True))
        signal.signal(signal.SIGQUIT, lambda *_: self._stop(True))
        self.arbiter._hook("dirty_post_fork", self.arbiter, self.worker)  # pylint: disable=protected-access
        for path in self.worker.app_paths:
            app = load_dirty_app(path)
            app.init()
            self.worker.apps[path] = app
            self.log.info("Initialized dirty app: %s", path)
        self.arbiter._hook("dirty_worker_init", self.worker)  # pylint: disable=protected-access
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(self.worker.socket_path)
        finally:
            os.umask(old)
        listener.listen(64)
        listener.settimeout(0.5)
        os.write(self._ready_w, b"R")
        os.close(self._ready_w)
        while not self._stopping:
            if os.getppid() != self.arbiter.pid:
                break
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            conn.settimeout(None)
            with self._idle:
                self._busy += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()
        listener.close()
        if not self._quick:
            with self._idle:
                while self._busy:
                    self._idle.wait(0.5)
        for path, app in self.worker.apps.items():
            try:
                app.close()
            except Exception:  # pylint: disable=broad-except
                self.log.exception("Error closing dirty app %s", path)
        self.log.info("Dirty worker %s exiting", os.getpid())

    def _stop(self, quick):
        self._quick = self._quick or quick
        self._stopping = True

    def _serve(self, conn):
        try:
            with conn:
                message = _recv(conn)
                if message is not None:
                    self._respond(conn, message)
        except (OSError, DirtyProtocolError):
            pass
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _respond(self, conn, message):
        request_id = message.get("id")
        app_path, action = message.get("app_path"), message.get("action")
        app = self.worker.apps.get(app_path)
        if app is None:
            _send(conn, _error_reply(request_id, DirtyAppNotFoundError(app_path)))
            return
        streamed = False
        try:
            result = app(action, *(message.get("args") or []), **(message.get("kwargs") or {}))
            import inspect
            streamed = inspect.isgenerator(result) or inspect.isasyncgen(result)
            if not streamed:
                frame = _dumps({"id": request_id, "type": "response", "result": result})
        except Exception as e:  # pylint: disable=broad-except
            frame = _dumps(self._app_error(request_id, app_path, action, e))
        if streamed:
            self._stream(conn, request_id, app_path, action, result)
        else:
            conn.sendall(frame)

    def _app_error(self, request_id, app_path, action, error):
        tb = traceback.format_exc()
        self.log.error("Error executing %s.%s: %s\n%s", app_path, action, error, tb)
        return _error_reply(request_id, DirtyAppError(str(error), app_path=app_path, action=action, traceback=tb))

    def _stream(self, conn, request_id, app_path, action, gen):
        """One ``chunk`` message per item, then ``end``; an exception in the generator ends the stream with
        ``error``. Each send blocks while the arbiter has not taken the previous chunks (back-pressure); a
        send that fails (the caller went away) closes the generator."""
        import asyncio
        import inspect
        loop = None
        if inspect.isasyncgen(gen):
            loop = asyncio.new_event_loop()
            done = object()

            async def step():
                try:
                    return await gen.__anext__()
                except StopAsyncIteration:
                    return done

            items = iter(lambda: loop.run_until_complete(step()), done)
        else:
            items = gen
        try:
            while True:
                try:
                    frame = _dumps({"id": request_id, "type": "chunk", "data": next(items)})
                except StopIteration:
                    reply = {"id": request_id, "type": "end"}
                    break
                except Exception as e:  # pylint: disable=broad-except - the app's (or a chunk's) error goes to the caller
                    reply = self._app_error(request_id, app_path, action, e)
                    break
                conn.sendall(frame)  # an OSError here: the caller went away, the generator is closed below
            conn.sendall(_dumps(reply))
        finally:
            try:
                if loop is not None:
                    loop.run_until_complete(gen.aclose())
                else:
                    gen.close()
            except Exception:  # pylint: disable=broad-except
                self.log.exception("Error closing the stream of %s.%s", app_path, action)
            finally:
                if loop is not None:
                    loop.close()


def _send_quietly(conn, message):
    try:
        _send(conn, message)
        return True
    except OSError:
        return False


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- the dirty arbiter process

HOOK_NAMES = ("on_dirty_starting", "dirty_post_fork", "dirty_worker_init", "dirty_worker_exit")


def _load_hooks(config, paths=None):
    """The four dirty hooks from the Python config file (a path or python:module), as Gunicorn reads it,
    or from the dotted paths a TOML config gives (``paths``: name to ``module.attr``)."""
    namespace = {}
    if config and config.startswith("python:"):
        namespace = vars(importlib.import_module(config[len("python:"):]))
    elif config:
        namespace = {"__file__": config, "__name__": "__config__"}
        with open(config, "rb") as f:
            exec(compile(f.read(), config, "exec"), namespace)  # pylint: disable=exec-used
    hooks = {}
    for name in HOOK_NAMES:
        hook = namespace.get(name) or (paths or {}).get(name)
        if isinstance(hook, str) and "." in hook:  # a dotted path, as Gunicorn accepts for hooks
            module_name, _, attr = hook.rpartition(".")
            hook = getattr(importlib.import_module(module_name), attr)
        if callable(hook):
            hooks[name] = hook
    return hooks


def _make_log(cfg):
    log = logging.getLogger("unicorn.dirty")
    log.propagate = False
    log.setLevel(cfg.get("loglevel", "INFO").upper())
    _reopen_log(log, cfg)
    return log


def _reopen_log(log, cfg):
    # The new handler first: a file that cannot be opened raises here and leaves the current one.
    path = cfg.get("errorlog") or "-"
    handler = logging.StreamHandler(sys.stderr) if path == "-" else logging.FileHandler(path)
    for old in list(log.handlers):
        log.removeHandler(old)
        old.close()
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s",
                                           "%Y-%m-%d %H:%M:%S %z"))
    log.addHandler(handler)


def _set_title(title):
    """Rewrites this process's argv in place, as Gunicorn's setproctitle titles (and the zygote's for an HTTP
    worker): ps shows the title, not the interpreter's bootstrap line."""
    try:
        import ctypes
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        # After the command name, index 0 is field 3 (state); arg_start and arg_end are fields 48 and 49.
        start, end = int(fields[45]), int(fields[46])
    except (ImportError, OSError, IndexError, ValueError):
        return
    size = end - start
    if size > 1:
        data = title.encode()[:size - 1]
        ctypes.memmove(start, data + b"\0" * (size - len(data)), size)


def _main():
    """Entry of the dirty arbiter process: settings come as JSON in UNICORN_DIRTY_CONFIG."""
    cfg = json.loads(os.environ.pop("UNICORN_DIRTY_CONFIG"))
    _set_title("unicorn: dirty-arbiter")
    install_gunicorn_alias(sys.modules[__name__])
    log = _make_log(cfg)
    for path in reversed(cfg.get("pythonpath") or []):
        sys.path.insert(0, path)
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    identity = os.environ.pop("UNICORN_DIRTY_IDENTITY", None)
    if identity and os.geteuid() == 0:
        uid, gid = identity.split(":")
        if gid:
            os.setgid(int(gid))
        if uid:
            os.setuid(int(uid))
    try:
        cfg["hooks"] = _load_hooks(cfg.get("config"), cfg.get("hook_paths"))
        arbiter = DirtyArbiter(cfg, log)
    except Exception as e:  # pylint: disable=broad-except
        reason = e.message if isinstance(e, DirtyError) else f"{type(e).__name__}: {e}"
        if e.__cause__ is not None:
            reason += f" ({type(e.__cause__).__name__}: {e.__cause__})"
        log.error("Dirty arbiter failed to start: %s", reason)
        sys.exit(APP_LOAD_ERROR)
    arbiter.run()
    sys.exit(APP_LOAD_ERROR if arbiter.boot_failed else 0)


def install_gunicorn_alias(module):
    """Makes ``gunicorn.dirty`` (and its submodules) this module, so Gunicorn apps run unchanged; when
    Gunicorn itself is not installed, an empty ``gunicorn`` package stands in for it."""
    modules = sys.modules
    for name in ("", ".app", ".client", ".errors"):
        modules.setdefault("gunicorn.dirty" + name, module)
    modules.setdefault("gunicorn.dirty.stash", module.stash)
    # Gunicorn's submodules are attributes of gunicorn.dirty too: `from gunicorn.dirty import errors` and
    # `import gunicorn.dirty.errors as e` read them there, and failed with ImportError without these.
    for name in ("app", "client", "errors"):
        if not hasattr(module, name):
            setattr(module, name, module)
    package = modules.get("gunicorn")
    if package is None and importlib.util.find_spec("gunicorn") is None:
        package = types.ModuleType("gunicorn")
        package.__path__ = []
        # The Gunicorn release whose behaviour Unicorn follows, for code that reads it (examples/test.py prints it).
        package.version_info = (26, 1, 0)
        package.__version__ = "26.1.0"
        modules["gunicorn"] = package
    if package is not None and getattr(package, "__file__", None) is None:
        package.dirty = module  # the stand-in, made here or by gunicorn.glogging's (unicorn_glogging.py)

