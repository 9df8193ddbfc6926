"""The Python half of Unicorn's ASGI worker class.

Loaded once per worker as the module ``_unicorn_asgi``. One thread runs ``Server.run``: the event loop. C#
(``PythonAsgiLoop``, reached as ``native``) posts work to a queue and wakes the loop by writing a byte to a
socket pair the loop watches; the loop's reader calls ``fast.drain()``, which runs the posted work here,
with the GIL already held. ``fast`` holds C functions (``AsgiNativeCallbacks``) for what runs per message:
they keep the GIL, unlike a pythonnet call on ``native``. Sockets, HTTP framing and writes stay in C#: ``send`` hands bytes to the request's
``exchange`` and awaits a future C# resolves once they are written (back-pressure).
"""

import asyncio
import http
import socket
import sys
import threading
import traceback
import urllib.parse

ASGI = {"version": "3.0", "spec_version": "2.4"}
WS_EXTENSIONS = {"websocket.http.response": {}}
LIFESPAN_TIMEOUT = 30.0
_WS_KINDS = ("text", "bytes", "close")
_WRITE_SLICE = 256 * 1024  # the most of a response body handed to the server in one write
# How long a request may wait in receive() after its body before its connection is watched for the client leaving.
# Frameworks listen so on every request (Quart, Django's ASGIHandler) and their responses come at once; a watch costs
# tens of microseconds, so only a request still waiting after this (a long poll) is watched.
_WATCH_AFTER = 0.1


_STATUS_LINES = {}


def _bridge():
    # The bridge module (unicorn_bridge.py), loaded before this one: it keeps the app's signal handlers.
    return sys.modules["_unicorn_bridge"]


# Not ASGI: the key under which -k tornado passes a reason phrase of the app's own (tornado's set_status(code, reason),
# a WSGI status line under WSGIContainer), which Gunicorn's tornado worker sends.
REASON_KEY = "unicorn.reason"


def _status_line(status):
    line = _STATUS_LINES.get(status)
    if line is None:
        try:
            line = "%d %s" % (status, http.HTTPStatus(status).phrase)
        except ValueError:
            line = "%d Unknown" % status
        if len(_STATUS_LINES) < 1000:  # the app picks the ints: keep the cache bounded
            _STATUS_LINES[status] = line
    return line


def _latin1(value, what):
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    elif not isinstance(value, str):
        raise TypeError("%s must be bytes, not %s" % (what, type(value).__name__))
    if "\0" in value:
        # NUL separates the pairs on their way to C#; no valid header contains one.
        raise ValueError("%s contains a NUL byte: %r" % (what, value))
    return value


class Server:
    def __init__(self, app, native, loop_name, lifespan, root_path, grace_period, pre_request=False, post_request=False,
                 reported_failure_stops=False):
        self.app = app
        self.native = native
        self.loop_name = loop_name
        self.lifespan_mode = lifespan
        self.reported_failure_stops = reported_failure_stops
        self.root_path = root_path
        self.grace_period = grace_period
        self.pre_request = pre_request
        self.post_request = post_request
        self.state = {}
        self.requests = {}
        self.loop = None
        self.lifespan = None
        self.thread_id = None
        self._wake = None
        self.fast = None  # set by C# before run()

    # --- the loop thread ------------------------------------------------------------------------

    def run(self):
        """Runs the loop until stop(); returns an error line when it could not start."""
        try:
            loop = self._new_loop()
        except RuntimeError as e:
            self.native.Started(str(e))
            return
        self.loop = loop
        self.thread_id = threading.get_ident()
        asyncio.set_event_loop(loop)
        self._wake, write_end = socket.socketpair()
        self._wake.setblocking(False)
        loop.add_reader(self._wake.fileno(), self._on_wake)
        self.native.SetWakeFd(write_end.detach())
        try:
            failure = loop.run_until_complete(self._startup())
            self.native.Started(failure)
            if failure is None:
                loop.run_forever()
        finally:
            loop.remove_reader(self._wake.fileno())
            self._wake.close()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    def _new_loop(self):
        if self.loop_name in ("auto", "uvloop"):
            try:
                import uvloop
            except ImportError:
                if self.loop_name == "uvloop":
                    # Gunicorn 26.1's words and behaviour: its own example configs ask for uvloop.
                    self.native.Log(30, "uvloop not available, falling back to asyncio")
            else:
                # uvloop's Loop is a C type whose methods cannot be replaced on the instance; a subclass's can.
                loop = type("Loop", (uvloop.Loop,), {})()
                _bridge().route_loop_signals(loop)
                return loop
        loop = asyncio.new_event_loop()
        _bridge().route_loop_signals(loop)
        return loop

    def _on_wake(self):
        # One recv: C# writes one byte until the loop drains, so this empties the pair without the second recv
        # (and its BlockingIOError) a read-until-empty loop costs on every wake-up; a byte left over only wakes
        # the loop once more.
        try:
            self._wake.recv(4096)
        except (BlockingIOError, InterruptedError):
            pass
        self.fast.drain()

    # --- called from C# through Drain -----------------------------------------------------------

    def request(self, exchange_id, websocket):
        req = (_WebSocket if websocket else _Request)(self, exchange_id)
        self.requests[exchange_id] = req
        req.task = self.loop.create_task(req.serve())

    def resolve(self, future, result):
        if not future.done():
            future.set_result(result)

    def ws_received(self, exchange_id, kind, value):
        # A websocket message from C# (PythonAsgiLoop.Received): kind 0 text (str), 1 bytes, 2 close (value: the code
        # and the reason).
        req = self.requests.get(exchange_id)
        if req is not None:
            future, req.waiter = req.waiter, None
            if future is not None and not future.done():
                future.set_result((_WS_KINDS[kind], value))

    def written(self, exchange_id, outcome, message):
        # A write fast.write or ws_send started has ended (PythonAsgiLoop.Written): 0 done, 1 the client is gone
        # (OSError), 2 failed (RuntimeError).
        req = self.requests.get(exchange_id)
        if req is not None:
            future, req.writing = req.writing, None
            if future is not None and not future.done():
                if outcome == 0:
                    future.set_result(None)
                else:
                    future.set_exception((OSError if outcome == 1 else RuntimeError)(message))

    def ws_error(self, exchange_id, message):
        req = self.requests.get(exchange_id)
        if req is not None:
            future, req.waiter = req.waiter, None
            if future is not None and not future.done():
                future.set_exception(RuntimeError(message))

    def fail(self, future, message):
        if not future.done():
            future.set_exception(OSError(message))

    def error(self, future, message):
        if not future.done():
            future.set_exception(RuntimeError(message))

    def disconnected(self, exchange_id):
        req = self.requests.get(exchange_id)
        if req is not None:
            req.on_disconnect()

    def stop(self):
        self.loop.create_task(self._stop())

    def stop_now(self):
        # The worker's graceful deadline, a little before the master's SIGKILL: what still runs (a stream that never
        # ends, a long poll, a background task) hears http.disconnect and is cancelled, so that _stop's wait ends and
        # lifespan shutdown runs while the worker still can.
        for req in list(self.requests.values()):
            req.stop_now()

    # --- called from C# on another thread (max_request_time), GIL held ----------------------------

    def stack(self, exchange_id):
        """A request task's stack in faulthandler's layout, or None when it has finished.

        A suspended task's frames are its chain of awaited coroutines; a task holding the loop right now (a
        blocking call in an async view) shows the loop thread's frames instead, which run through it.
        """
        req = self.requests.get(exchange_id)
        task = req.task if req is not None else None
        if task is None or task.done():
            return None
        if asyncio.current_task(self.loop) is task:
            frame = sys._current_frames().get(self.thread_id)
            frames = []
            while frame is not None:
                frames.append((frame, frame.f_lineno))
                frame = frame.f_back
            header = "Task %s, running on the loop thread (most recent call first):" % task.get_name()
        else:
            frames = [(f, f.f_lineno) for f in reversed(_awaited_frames(task.get_coro()))]
            header = "Task %s, suspended (most recent call first):" % task.get_name()
        lines = [header]
        for frame, line in frames:
            lines.append('  File "%s", line %s in %s' % (frame.f_code.co_filename, line, frame.f_code.co_name))
        return "\n".join(lines)

    async def _stop(self):
        try:
            # Requests whose response is complete but whose app runs on (background tasks) finish first, as under
            # uvicorn; the worker's graceful timeout bounds the wait (C# stops waiting for this loop then).
            running = [r.task for r in self.requests.values() if r.task is not None and not r.task.done()]
            if running:
                await asyncio.wait(running)
            if self.lifespan is not None:
                await self.lifespan.shutdown()
        finally:
            self.loop.stop()

    # --- lifespan (Gunicorn's rules: auto tolerates an app without it, on does not; under uvicorn's
    # worker class an app's own lifespan.startup.failed stops the worker, as uvicorn's auto does) ----

    async def _startup(self):
        if self.lifespan_mode == "off":
            return None
        lifespan = _Lifespan(self)
        failure = await lifespan.startup()
        if failure is None:
            self.lifespan = lifespan
            return None
        if self.lifespan_mode == "on" or (lifespan.reported and self.reported_failure_stops):
            return "ASGI lifespan startup failed: %s" % failure
        self.native.Log(10, "ASGI lifespan not supported by app: %s" % failure)
        return None

    def log_exception(self, message):
        text = traceback.format_exc().rstrip("\n")
        if getattr(sys.modules.get("_unicorn_glogging"), "_own_exception", False):
            # A logger_class with an exception() of its own: called from here, in the except block, as Gunicorn does.
            self.native.LogException(message, text)
        else:
            self.native.Log(40, message + "\n" + text)


class _Lifespan:
    def __init__(self, server):
        self.server = server
        self.queue = asyncio.Queue()
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        self.failure = None
        self.reported = False  # the app sent lifespan.startup.failed (rather than raising)
        self.shutdown_failure = None
        self.task = None

    async def startup(self):
        scope = {"type": "lifespan", "asgi": dict(ASGI), "state": self.server.state}
        await self.queue.put({"type": "lifespan.startup"})
        self.task = asyncio.ensure_future(self._run(scope))
        try:
            await asyncio.wait_for(self.started.wait(), LIFESPAN_TIMEOUT)
        except asyncio.TimeoutError:
            self.failure = "startup timed out"
        if self.failure is not None:
            self.task.cancel()
        return self.failure

    async def shutdown(self):
        if self.task.done():
            return
        await self.queue.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self.stopped.wait(), LIFESPAN_TIMEOUT)
        except asyncio.TimeoutError:
            self.server.native.Log(30, "ASGI lifespan shutdown timed out")
        if self.shutdown_failure is not None:
            self.server.native.Log(40, "ASGI lifespan shutdown error: %s" % self.shutdown_failure)
        if not self.task.done():
            self.task.cancel()

    async def _run(self, scope):
        try:
            await self.server.app(scope, self.queue.get, self._send)
        except asyncio.CancelledError:
            raise
        except BaseException as e:
            if not self.started.is_set():
                self.failure = str(e) or type(e).__name__
            elif not self.stopped.is_set():
                self.shutdown_failure = str(e) or type(e).__name__
        finally:
            if not self.started.is_set():
                self.failure = self.failure or "the application returned before startup completed"
                self.started.set()
            self.stopped.set()

    async def _send(self, message):
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            self.started.set()
        elif kind == "lifespan.startup.failed":
            self.failure = message.get("message", "") or "lifespan.startup.failed"
            self.reported = True
            self.started.set()
        elif kind == "lifespan.shutdown.complete":
            self.stopped.set()
        elif kind == "lifespan.shutdown.failed":
            self.shutdown_failure = message.get("message", "") or "lifespan.shutdown.failed"
            self.stopped.set()


def _awaited_frames(coro):
    """The frames of a suspended coroutine and of what it awaits, outermost first."""
    frames = []
    seen = 0
    while coro is not None and seen < 1000:
        seen += 1
        if isinstance(coro, asyncio.Task):
            coro = coro.get_coro()
            continue
        frame = getattr(coro, "cr_frame", None)
        if frame is None:
            frame = getattr(coro, "gi_frame", None)
        if frame is None:
            frame = getattr(coro, "ag_frame", None)
        if frame is None:
            break
        frames.append(frame)
        nxt = getattr(coro, "cr_await", None)
        if nxt is None:
            nxt = getattr(coro, "gi_yieldfrom", None)
        if nxt is None:
            nxt = getattr(coro, "ag_await", None)
        coro = nxt
    return frames


def _checked_headers(headers):
    """The app's headers as (str, str) pairs, raising what _latin1 raises: for shapes fast.start leaves to Python."""
    return [(_latin1(name, "header name"), _latin1(value, "header value")) for name, value in headers]


def _flat_headers(headers):
    pairs = []
    for name, value in headers:
        pairs.append(_latin1(name, "header name"))
        pairs.append(_latin1(value, "header value"))
    return pairs


class _Request:
    """One http scope: receive/send over the C# exchange (PythonAsgiExchange)."""

    def __init__(self, server, exchange_id):
        self.server = server
        self._ex = None
        self.task = None
        self.started = False
        self.complete = False
        self.trailers = False  # http.response.start said trailers follow (HTTP/2): the final body holds the stream open
        self.last_body_sent = False  # with trailers pending
        self.disconnected = False
        self.body_done = False
        self.misuse = None
        self.streamed = False
        self.waiters = []
        self.watching = False  # a watch of the client's connection is due (_watch_client), once asked
        self.writing = None  # the future a write fast.write or ws_send started waits on; Server.written settles it
        self.released = False  # the connection was handed back once the response was complete (_release)
        self.id = exchange_id  # C# passes it: each pythonnet property read costs a crossing
        self.http_version = None  # set by scope()
        self.method = self.path = None  # set by scope()

    @property
    def ex(self):
        # The C# exchange (PythonAsgiExchange), wrapped by pythonnet only when a path calls its methods (a body
        # read, hooks, pathsend, a websocket): a plain request goes through fast.* with its id alone.
        ex = self._ex
        if ex is None:
            ex = self._ex = self.server.native.Lookup(self.id)
            if ex is None:
                raise OSError("the request has ended")
        return ex

    def scope(self):
        # One C call builds the dict (fast.http_scope: every key but state, the http.response.pathsend extension,
        # headers as (lowercased bytes, bytes) pairs), not a pythonnet property read per field.
        scope = self.server.fast.http_scope(self.id)
        self.http_version = scope["http_version"]
        self.method = scope["method"]  # for log lines once the exchange may have been released
        self.path = scope["path"]
        scope["state"] = self.server.state.copy()  # {} without lifespan, as Gunicorn 26.1 and uvicorn give it
        return scope

    async def serve(self):
        try:
            # As Gunicorn's ASGI worker: pre_request on the loop before the app; one that raises (logged by C#) is
            # answered 500 when the exchange finishes.
            if self.server.pre_request and not self.ex.PreRequest():
                return
            await self.server.app(self.scope(), self.receive, self.send)
            if self.misuse is not None:
                raise self.misuse
            if not self.started and not self.disconnected:
                self.server.native.Log(40, "ASGI application returned without sending a response: %s %s"
                                       % (self.ex.Method, self.ex.Path))
        except asyncio.CancelledError:
            self.server.native.Log(10, "Request cancelled (client disconnected)")
        except Exception as e:
            if self.disconnected or (self.complete and e is self.misuse):
                self.server.native.Log(10, "Exception after response complete (client disconnected)")
            else:
                # Also once the response is complete: Starlette's ServerErrorMiddleware sends its 500 and then
                # re-raises, so this is where every FastAPI error surfaces. uvicorn logs it; Gunicorn 26.1's ASGI
                # worker drops it to debug, which leaves such errors in no log.
                self.server.log_exception("Error in ASGI application")
        finally:
            self.server.requests.pop(self.id, None)
            if self.waiters:
                self._wake_waiters()
            if self.server.post_request:
                try:
                    self.ex.PostRequest(self._hook_environ())
                except Exception:
                    self.server.log_exception("Exception in post_request hook")
            if not self.released:
                self.server.fast.finish(self.id)
            # Whatever still holds this request once its task is done (a cycle through an exception's traceback, the
            # app's or a framework's) must not hold the exchange and its body buffers with it.
            self._ex = None

    def _release(self):
        """The response is complete: hand the connection back for its next request now, while the app's task runs
        on (FastAPI's BackgroundTasks, a dependency's clean-up after yield), as uvicorn does; the next request on a
        keep-alive connection waited for them. Not with post_request, which Gunicorn runs once the app returned and
        which reads the exchange."""
        if self.released or self.server.post_request:
            return
        self.released = True
        self.server.fast.finish(self.id)

    def _hook_environ(self):
        """The small environ Gunicorn's ASGI worker gives post_request: the request line, client and headers."""
        ex = self.ex
        environ = {
            "REQUEST_METHOD": ex.Method,
            "RAW_URI": ex.RawUri,
            # The scope's path (UTF-8, as Gunicorn's request.path); a request pre_request refused has no scope yet.
            "PATH_INFO": self.path if self.path is not None
            else urllib.parse.unquote_to_bytes(ex.Path.encode("latin-1")).decode("utf-8", "replace"),
            "QUERY_STRING": ex.Query,
            "SERVER_PROTOCOL": "HTTP/" + ex.HttpVersion,
            "REMOTE_ADDR": ex.ClientHost if ex.ClientHost is not None else "-",
        }
        flat = ex.Headers.split("\0") if ex.Headers else []
        for i in range(0, len(flat) - 1, 2):
            environ["HTTP_" + flat[i].upper().replace("-", "_")] = flat[i + 1]
        return environ

    # --- receive ------------------------------------------------------------------------------

    async def receive(self):
        if self.disconnected or self.complete:
            return {"type": "http.disconnect"}
        if not self.body_done:
            if not self.streamed:
                buffered = self.server.fast.body(self.id)  # a C call: no pythonnet wrapper of the exchange
                if buffered is not None:
                    self.body_done = True
                    return {"type": "http.request", "body": buffered, "more_body": False}
                self.streamed = True
            future = self.server.loop.create_future()
            self.ex.Read(future)
            try:
                chunk = await future
            except OSError:
                # The error's traceback holds this frame, which holds the future, which holds the error: a cycle
                # only Python's cyclic collector frees, and until it runs it kept self and the exchange (the
                # request's body buffers, megabytes when chunked) alive: aborted uploads swelled the worker.
                future = None
                self.disconnected = True
                return {"type": "http.disconnect"}
            if not chunk:
                self.body_done = True
            return {"type": "http.request", "body": chunk, "more_body": bool(chunk)}
        # The body is all read: the next event is the end of the exchange, or the client leaving before it.
        waiter = self.server.loop.create_future()
        self.waiters.append(waiter)
        if not self.watching:
            self.watching = True
            self.server.loop.call_later(_WATCH_AFTER, self._watch_client)
        try:
            await waiter
        finally:
            # A poll that gave up (Starlette's is_disconnected() cancels its receive at once) leaves no waiter behind.
            if waiter in self.waiters:
                self.waiters.remove(waiter)
        return {"type": "http.disconnect"}

    def _watch_client(self):
        if not (self.complete or self.disconnected or self.released):
            try:
                self.ex.WatchClient()
            except OSError:
                pass  # the request has ended meanwhile

    def on_disconnect(self):
        if self.disconnected:
            return
        self.disconnected = True
        self._wake_waiters()
        if self.task is not None and not self.task.done():
            self.server.loop.call_later(self.server.grace_period, self.task.cancel)

    def stop_now(self):
        if not self.disconnected:
            self.disconnected = True
            self._wake_waiters()
        if self.task is not None and not self.task.done():
            # After the turn in which a task woken above takes its http.disconnect.
            self.server.loop.call_soon(self.task.cancel)

    def _wake_waiters(self):
        waiters, self.waiters = self.waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    # --- send ---------------------------------------------------------------------------------

    async def send(self, message):
        if self.disconnected:
            # As Gunicorn, no error: the app may finish its clean-up. But a turn of the loop, so that a producer
            # that never awaits (an async generator that only yields) is cancelled by the framework's disconnect
            # listener or asgi_disconnect_grace_period, instead of running to its end into a closed connection.
            await asyncio.sleep(0)
            return
        kind = message["type"]
        if kind == "http.response.informational":
            # As Gunicorn's ASGI worker: an interim response before the final one (103 Early Hints), dropped
            # once the response has started or for an HTTP/1.0 client.
            if message.get("status") != 103:
                raise RuntimeError("http.response.informational: only status 103 (Early Hints) is supported, not %r"
                                   % (message.get("status"),))
            if self.started:
                return
            pairs = _flat_headers(message.get("headers", ()))
            await self._write(lambda f: self.ex.EarlyHints("\0".join(pairs), len(pairs), f))
        elif kind == "http.response.start":
            if self.started:
                self.misuse = RuntimeError("Response already started")
                return
            self.started = True
            status = message["status"]
            if not isinstance(status, int):
                raise TypeError("http.response.start status must be an int")
            self.trailers = bool(message.get("trailers", False)) and self.http_version == "2"
            line = _STATUS_LINES.get(status) or _status_line(status)
            reason = message.get(REASON_KEY)
            if reason is not None:
                # The tornado worker's: the app's own reason phrase (the server checks the line as a WSGI status).
                line = "%d %s" % (status, reason)
            headers = message.get("headers", ())
            error = self.server.fast.start(self.id, line, headers)  # C# reads a list of pairs itself
            if error is NotImplemented:
                error = self.server.fast.start(self.id, line, _checked_headers(headers))
                if error is NotImplemented:
                    raise TypeError("http.response.start headers must be latin-1 bytes or str pairs")
            if error is not None:
                raise RuntimeError(error)
        elif kind == "http.response.body":
            if not self.started:
                self.misuse = RuntimeError("Response not started")
                return
            if self.complete or self.last_body_sent:
                self.misuse = RuntimeError("Response already complete")
                return
            body = message.get("body", b"")
            if not isinstance(body, bytes):
                body = bytes(body)
            more = bool(message.get("more_body", False))
            # A large body goes in slices: the server copies each write into its own heap, which worker_heap_limit
            # caps (a 25 MiB body in one write failed, or crashed the worker, under a container's limit).
            for start in range(0, len(body) - _WRITE_SLICE, _WRITE_SLICE):
                await self._write_body(body[start:start + _WRITE_SLICE], True)
                if self.disconnected:
                    return
            if len(body) > _WRITE_SLICE:
                body = body[(len(body) - 1) // _WRITE_SLICE * _WRITE_SLICE:]
            if not more and self.trailers:
                self.last_body_sent = True
                more = True  # the trailers end the stream
            elif not more:
                self.complete = True
            await self._write_body(body, more)
            if self.complete and not self.disconnected:
                self._release()
        elif kind == "http.response.pathsend":
            if not self.started:
                self.misuse = RuntimeError("Response not started")
                return
            if self.complete:
                self.misuse = RuntimeError("Response already complete")
                return
            self.complete = True
            path = message["path"]
            await self._write(lambda f: self.ex.SendFile(str(path), f))
            if not self.disconnected:
                self._release()
        elif kind == "http.response.trailers":
            if not self.trailers or not self.last_body_sent or self.complete:
                self.misuse = RuntimeError("http.response.trailers needs \"trailers\": True in http.response.start "
                                           "(HTTP/2 only) and follows the last http.response.body")
                # Not self.ex: on HTTP/1 the complete response already handed the exchange back (_release).
                self.server.native.Log(30, "ASGI application sent trailers the response cannot carry: %s %s: %s"
                                       % (self.method, self.path, self.misuse))
                return
            pairs = _flat_headers(message.get("headers", ()))
            await self._write(lambda f: self.ex.Trailers("\0".join(pairs), len(pairs), f))
            if not message.get("more_trailers", False):
                self.complete = True
                await self._write(lambda f: self.ex.Write(b"", False, f))
                if not self.disconnected:
                    self._release()
        else:
            raise RuntimeError("Unexpected ASGI message %r in an http scope" % kind)

    async def _write_body(self, body, more):
        state = self.server.fast.write(self.id, body, more)  # 0: written already, no future needed
        if state == 1:  # started: C# calls Server.written once it is done
            self.writing = self.server.loop.create_future()
            await self._settled(self.writing)
        elif state:
            await self._write(lambda f: self.ex.Write(body, more, f))
        elif self.complete and self.waiters:
            self._wake_waiters()

    async def _write(self, start):
        future = self.server.loop.create_future()
        start(future)
        await self._settled(future)

    async def _settled(self, future):
        try:
            await future
        except OSError:
            future = None  # the cycle receive() breaks: frame, future, error, traceback, frame
            self.on_disconnect()
        if self.complete:
            self._wake_waiters()


class _WebSocket(_Request):
    """One websocket scope: the handshake over the C# exchange, then messages over its PythonAsgiWebSocket."""

    def __init__(self, server, exchange_id):
        super().__init__(server, exchange_id)
        self.connect_sent = False
        self.socket = None
        self.accepted = False
        self.denied = False
        self.close_code = None
        self.close_reason = ""  # the client's close frame's reason (websocket.disconnect's, as uvicorn gives it)
        self.app_closed = False  # the app sent websocket.close: any further send is its mistake
        self.waiter = None  # the future a receive() C# could not answer at once waits on
        self.fast_receive = server.fast.ws_receive
        self.fast_send = server.fast.ws_send

    def scope(self):
        scope = super().scope()
        scope["type"] = "websocket"
        scope["scheme"] = "wss" if scope["scheme"] == "https" else "ws"
        del scope["method"]
        protocols = [v.decode("latin-1") for k, v in scope["headers"] if k == b"sec-websocket-protocol"]
        scope["subprotocols"] = [p.strip() for v in protocols for p in v.split(",") if p.strip()]
        scope["extensions"] = {k: dict(v) for k, v in WS_EXTENSIONS.items()}
        return scope

    async def serve(self):
        try:
            await self.server.app(self.scope(), self.receive, self.send)
            if not self.accepted and not self.started and not self.disconnected:
                self.server.native.Log(40, "ASGI application returned without accepting or denying the websocket: %s"
                                       % self.ex.Path)
        except asyncio.CancelledError:
            self.server.native.Log(10, "Websocket task cancelled")
        except Exception:
            if self.close_code is not None or self.disconnected:
                self.server.native.Log(10, "Exception after the websocket closed")
            else:
                # Gunicorn 26.1's line for a websocket scope, which operators grep apart from failed requests.
                self.server.log_exception("Error in WebSocket ASGI application")
                if self.accepted:
                    # As Gunicorn 26.1's worker (and RFC 6455): 1011 Internal Error, with its reason, tells the
                    # client the server failed; the 1000 Finish() sends would tell it the app closed normally. A
                    # close the app already sent stays (the socket sends one close frame only).
                    try:
                        await self.send({"type": "websocket.close", "code": 1011, "reason": "Application error"})
                    except Exception:
                        pass
        finally:
            self.server.requests.pop(self.id, None)
            self.ex.Finish()
            self._ex = None  # as _Request.serve's

    async def receive(self):
        if not self.connect_sent:
            self.connect_sent = True
            return {"type": "websocket.connect"}
        if not self.accepted and not self.started and not self.disconnected:
            # Received before the app answered the handshake (Quart reads in a task of its own from the start):
            # wait for its answer, as uvicorn and Gunicorn do.
            waiter = self.server.loop.create_future()
            self.waiters.append(waiter)
            await waiter
        if self.close_code is not None or self.disconnected:
            return {"type": "websocket.disconnect", "code": self.close_code or 1006, "reason": self.close_reason}
        if not self.accepted:  # denied: no websocket was opened
            return {"type": "websocket.disconnect", "code": 1006}
        # A message C# could read at once comes back here, with no loop wake-up; else Server.ws_received
        # resolves self.waiter (only on this thread, so it cannot come before the waiter exists).
        if self.waiter is not None:
            raise RuntimeError("websocket receive() called while another receive() is waiting")
        ready = self.fast_receive(self.id)
        if ready is not None:
            # str for a text message (UTF-8 checked by .NET), bytes for a binary one.
            if ready.__class__ is str:
                return {"type": "websocket.receive", "text": ready}
            return {"type": "websocket.receive", "bytes": ready}
        self.waiter = self.server.loop.create_future()
        kind, value = await self.waiter
        if kind == "text":
            return {"type": "websocket.receive", "text": value}
        if kind == "bytes":
            return {"type": "websocket.receive", "bytes": value}
        self.close_code, self.close_reason = value
        return {"type": "websocket.disconnect", "code": self.close_code, "reason": self.close_reason}

    async def send(self, message):
        kind = message["type"]
        if not self.accepted and not self.started:
            if self.disconnected:
                raise OSError("client disconnected")
            if kind == "websocket.accept":
                pairs = _flat_headers(message.get("headers", ()))
                subprotocol = message.get("subprotocol")
                future = self.server.loop.create_future()
                self.ex.Accept(subprotocol, "\0".join(pairs), len(pairs), future)
                try:
                    await future
                except OSError:
                    self.on_disconnect()
                    raise
                self.accepted = True
                self.socket = self.ex.WebSocket  # one wrapper for the websocket's life, not one per message
                self._wake_waiters()  # a receive() waiting for the handshake
            elif kind == "websocket.close":
                # Closed before the handshake completed: refused with 403, as uvicorn does.
                self.denied = True
                self.started = True
                self.ex.Start("403 Forbidden", "content-length\0" + "0", 2)
                await self._write(lambda f: self.ex.Write(b"", False, f))
                self._wake_waiters()
            elif kind == "websocket.http.response.start":
                await super().send(dict(message, type="http.response.start"))
                self._wake_waiters()
            else:
                raise RuntimeError("Expected websocket.accept, websocket.close or websocket.http.response.start, got %r"
                                   % kind)
            return
        if self.started:
            if kind == "websocket.http.response.body" and not self.denied:
                await super().send(dict(message, type="http.response.body"))
                return
            raise RuntimeError("Unexpected ASGI message %r after the websocket was denied" % kind)
        if self.app_closed:
            # As uvicorn: the app closed the websocket itself, so its send is a misuse, not a lost client.
            raise RuntimeError("Unexpected ASGI message %r after sending 'websocket.close'" % kind)
        if self.close_code is not None:
            raise OSError("websocket closed (%d)" % self.close_code)
        if kind == "websocket.send":
            text, data = message.get("text"), message.get("bytes")
            if text is not None:
                if text.__class__ is not str:
                    raise TypeError("websocket.send 'text' must be str, not %s" % type(text).__name__)
                payload, is_text = text, True
            elif data is not None:
                payload, is_text = (data if data.__class__ is bytes else bytes(data)), False
            else:
                raise TypeError("websocket.send needs 'text' or 'bytes'")
            state = self.fast_send(self.id, payload, is_text)  # 0: written already, no future needed
            if state == 1:  # started: C# calls Server.written once it is sent
                self.writing = self.server.loop.create_future()
                await self.writing
            elif state:
                future = self.server.loop.create_future()
                self.socket.Send(payload.encode("utf-8") if is_text else payload, is_text, future)
                await future
        elif kind == "websocket.close":
            code = int(message.get("code", 1000) or 1000)
            reason = message.get("reason") or ""
            # Refused here, in Python's words, before .NET would refuse it in its own (RFC 6455 5.5, 7.4).
            if not 1000 <= code <= 4999 or code in (1005, 1006, 1015):
                raise ValueError("websocket.close code %d is not one a close frame may carry "
                                 "(1000-4999, not 1005, 1006 or 1015)" % code)
            size = len(reason.encode("utf-8"))
            if size > 123:
                raise ValueError("websocket.close reason is %d bytes in UTF-8; a close frame holds at most 123" % size)
            self.app_closed = True
            future = self.server.loop.create_future()
            self.socket.Close(code, reason, future)
            await future
        else:
            raise RuntimeError("Unexpected ASGI message %r in a websocket scope" % kind)
