"""-k tornado: Gunicorn's TornadoWorker semantics on Unicorn's event-loop host.

Loaded as ``_unicorn_tornado`` in tornado workers. ``adapt`` turns the app into an ASGI 3 callable that the
asgi worker class's loop runs (one thread, one asyncio loop, which tornado's IOLoop wraps). As in Gunicorn's
worker, a ``tornado.web.Application`` (or a ``WSGIContainer``) is served directly, and any other app is taken
as WSGI and served through ``tornado.wsgi.WSGIContainer``, so it runs on the IOLoop's thread, one request at a
time. Each parsed request (C# keeps sockets and HTTP) becomes a ``tornado.httputil.HTTPServerRequest`` whose
connection turns tornado's write_headers/write/finish into ASGI sends, in order, with back-pressure. A websocket
request reaches its ``WebSocketHandler`` the same way; once the handler accepts it (its 101), the messages go over the
asgi host's websocket (which frames, pings and closes in C#) instead of tornado's own frame protocol.
"""

import asyncio
import sys
from http.client import responses  # the standard reason phrases (tornado imports the module itself)

# Tornado's HTTPServer refuses bodies over max_body_size (100 MB by default); a request body is read whole
# before the handler runs, so the same bound keeps a client from growing the worker without limit.
MAX_BODY_SIZE = 100 * 1024 * 1024


def adapt(app):
    try:
        import tornado  # noqa: F401
    except ImportError:
        raise RuntimeError("You need tornado installed to use this worker.") from None
    import tornado.web
    from tornado.wsgi import WSGIContainer

    if not isinstance(app, (tornado.web.Application, WSGIContainer)):
        app = WSGIContainer(app)
    _serve_websockets_over_asgi()
    return _TornadoAsgi(app)


def _serve_websockets_over_asgi():
    """WebSocketHandler asks get_websocket_protocol() for the object that speaks the websocket protocol over the
    connection it detaches; on a websocket request here that is _WebSocketProtocol, which speaks ASGI messages."""
    import tornado.websocket

    handler_class = tornado.websocket.WebSocketHandler
    original = handler_class.get_websocket_protocol
    if getattr(original, "_unicorn", False):
        return

    def get_websocket_protocol(self):
        connection = self.request.connection
        if isinstance(connection, _WebSocketConnection):
            if self.request.headers.get("Sec-WebSocket-Version") not in ("7", "8", "13"):
                return None  # tornado's 426 Upgrade Required
            return _websocket_protocol_class()(self, connection)
        return original(self)

    get_websocket_protocol._unicorn = True
    handler_class.get_websocket_protocol = get_websocket_protocol


class _Context:
    __slots__ = ("remote_ip", "protocol", "address")

    def __init__(self, scope):
        client = scope.get("client")
        self.address = client
        self.remote_ip = client[0] if client else None
        self.protocol = {"ws": "http", "wss": "https"}.get(scope.get("scheme"), scope.get("scheme", "http"))


class _Connection:
    """tornado.httputil.HTTPConnection for one request: every call queues a send, done in order by the ASGI call."""

    def __init__(self, scope):
        self.context = _Context(scope)
        self.queue = asyncio.Queue()
        self._close_callback = None
        self.finished = False
        self.gone = False  # the client went away: writes fail with StreamClosedError, as on tornado's closed stream
        self.ending = False  # the last message is with the server: a disconnect from then on is the response's end
        self.begun = False  # _respond has taken a message
        self.broken = False  # the head could not be encoded: a bare 500 went instead, and the body is dropped
        self.max_body_size = MAX_BODY_SIZE

    def set_max_body_size(self, max_body_size):
        # A @stream_request_body handler may raise the limit in prepare(), as with tornado's own connection.
        self.max_body_size = max_body_size

    def set_body_timeout(self, timeout):
        # Body reads are bounded by the server's timeout setting, in C#.
        pass

    def set_close_callback(self, callback):
        self._close_callback = callback

    def on_client_gone(self, cause=None):
        """The client went away: fail the writes still queued (a handler awaiting flush() gets StreamClosedError, as
        from tornado's own connection, instead of waiting for ever), stop _respond, and call the handler's
        on_connection_close."""
        if self.gone:
            return
        self.gone = True
        error = _stream_closed(cause)
        while not self.queue.empty():
            _message, future = self.queue.get_nowait()
            if future is not None and not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: a write nobody awaited is not logged
        self.queue.put_nowait((None, None))  # wakes _respond, which ends
        callback, self._close_callback = self._close_callback, None
        if callback is not None:
            callback()

    def _post(self, message):
        future = asyncio.get_running_loop().create_future()
        if self.gone:
            future.set_exception(_stream_closed(None))
            future.exception()
            return future
        self.queue.put_nowait((message, future))
        return future

    def write_headers(self, start_line, headers, chunk=None):
        try:
            pairs = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.get_all()]
        except UnicodeEncodeError:
            # Tornado logs this as the handler's uncaught exception and then finishes the response, whose head
            # can never be sent: the client gets a bare 500, and what the handler wrote after is dropped (it was
            # logged as "Response not started", hiding the cause).
            self.broken = True
            self._post({"type": "http.response.start", "status": 500, "headers": []})
            raise
        future = self._post(_response_start(start_line, pairs))
        if chunk:
            future = self.write(chunk)
        return future

    def write(self, chunk):
        if self.broken:
            chunk = b""
        return self._post({"type": "http.response.body", "body": bytes(chunk), "more_body": True})

    def finish(self):
        self.finished = True
        self._post({"type": "http.response.body", "body": b"", "more_body": False})


class _TornadoAsgi:
    def __init__(self, app):
        import tornado.web

        self.app = app
        self.routed = isinstance(app, tornado.web.Application)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            # Tornado apps have no lifespan: answer it so asgi_lifespan = on does not fail for want of one.
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError("the tornado worker class serves HTTP and websockets only, not %s" % scope["type"])
        await self._http(scope, receive, send)

    @staticmethod
    def _head(scope, method):
        from tornado import httputil

        headers = httputil.HTTPHeaders()
        for name, value in scope["headers"]:
            headers.add(name.decode("latin-1"), value.decode("latin-1"))
        uri = scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            uri += "?" + scope["query_string"].decode("latin-1")
        return httputil.RequestStartLine(method, uri, "HTTP/" + scope["http_version"]), headers

    async def _websocket(self, scope, receive, send):
        """A websocket request, served as tornado's HTTP server serves the GET that asks for it: the handler (a
        WebSocketHandler, or any other, whose answer is then an HTTP response refusing the websocket) runs on a
        _WebSocketConnection, which sends its 101 as websocket.accept and anything else as a denial response."""
        from tornado import httputil

        message = await receive()
        if message["type"] != "websocket.connect":
            return
        start_line, headers = self._head(scope, "GET")
        connection = _WebSocketConnection(scope, receive, send)
        try:
            if self.routed:
                delegate = self.app.start_request(None, connection)
                await _maybe(delegate.headers_received(start_line, headers))
                delegate.finish()
            else:
                request = httputil.HTTPServerRequest(start_line=start_line, headers=headers, body=b"",
                                                     connection=connection)
                self.app(request)
            await connection.done
        except asyncio.CancelledError:
            connection.cancel()
            raise
        await connection.drained()

    async def _http(self, scope, receive, send):
        start_line, headers = self._head(scope, scope["method"])
        connection = _Connection(scope)
        if self.routed:
            served = await self._route(receive, send, connection, start_line, headers)
        else:
            served = await self._call(receive, send, connection, start_line, headers)
        if served:
            await self._respond(send, receive, connection)

    async def _route(self, receive, send, connection, start_line, headers):
        """An Application, fed as tornado's HTTP server feeds it: headers, body chunks as they arrive, finish.

        So @stream_request_body handlers get the body in chunks, with the flow control data_received asks for.
        """
        delegate = self.app.start_request(None, connection)
        await _maybe(delegate.headers_received(start_line, headers))
        if _declared_too_large(headers, connection):  # after prepare(), which may raise the limit
            delegate.on_connection_close()
            if connection.queue.empty():
                await _too_large(send)
            return False
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                delegate.on_connection_close()
                return False
            body = message.get("body", b"")
            if body:
                size += len(body)
                if size > connection.max_body_size:
                    delegate.on_connection_close()
                    if connection.queue.empty():
                        await _too_large(send)
                    return False
                await _maybe(delegate.data_received(body))
            if not message.get("more_body", False):
                break
        delegate.finish()
        return True

    async def _call(self, receive, send, connection, start_line, headers):
        """A WSGIContainer: the whole body first, then the WSGI call, synchronously on the loop (as Gunicorn's)."""
        from tornado import httputil

        if _declared_too_large(headers, connection):
            await _too_large(send)
            return False
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return False
            body = message.get("body", b"")
            size += len(body)
            if size > connection.max_body_size:
                await _too_large(send)
                return False
            chunks.append(body)
            if not message.get("more_body", False):
                break

        request = httputil.HTTPServerRequest(start_line=start_line, headers=headers, body=b"".join(chunks),
                                             connection=connection)
        request._parse_body()
        try:
            self.app(request)
        except Exception:
            # What a WSGI app raises inside WSGIContainer: logged as tornado logs a handler's uncaught exception
            # (Application handlers catch their own and answer 500), then a 500 if nothing was sent yet.
            from tornado.log import app_log

            app_log.error("Uncaught exception %s %s (%s)", request.method, request.uri, request.remote_ip, exc_info=True)
            if connection.queue.empty():
                await send({"type": "http.response.start", "status": 500,
                            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"21")]})
                await send({"type": "http.response.body", "body": b"Internal Server Error"})
                return False
        return True

    async def _respond(self, send, receive, connection):
        """What the handler wrote, in order; each write's future resolves once the server has taken it.

        The asgi host's send does not raise once the client is gone (it drops the write, and cancels this task after
        asgi_disconnect_grace_period), so a handler streaming with flush() would never hear of it: whenever the handler
        has nothing queued (a long poll that has written nothing, a stream between writes), receive() is watched for
        the disconnect, which fails the handler's writes with StreamClosedError and calls its on_connection_close, as
        tornado's own server does."""
        watch = None
        try:
            while True:
                if watch is None and connection.queue.empty():
                    watch = asyncio.ensure_future(self._watch(receive, connection))
                if not await self._respond_one(send, connection):
                    return
        finally:
            if watch is not None:
                watch.cancel()
            if not connection.ending:
                connection.on_client_gone()  # also when this task was cancelled

    async def _respond_one(self, send, connection):
        """Sends the next message the handler queued; False once the response is over or the client gone."""
        message, future = await connection.queue.get()
        if message is None:  # the client went away (on_client_gone)
            return False
        connection.begun = True
        last = message["type"] == "http.response.body" and not message["more_body"]
        connection.ending = last
        try:
            await send(message)
        except OSError as e:
            if not future.done():
                future.set_exception(_stream_closed(e))
                future.exception()
            connection.ending = False
            connection.on_client_gone(e)
            return False
        if not future.done():
            future.set_result(None)
        return not last

    @staticmethod
    async def _watch(receive, connection):
        message = await receive()
        if message["type"] == "http.disconnect" and not connection.ending:
            connection.on_client_gone()


class _WebSocketConnection:
    """tornado.httputil.HTTPConnection for a websocket request: the handler's answer, then (once it sent 101) the
    websocket's messages, all sent in order through one chain of sends."""

    def __init__(self, scope, receive, send):
        self.context = _Context(scope)
        self.receive = receive
        self._send = send
        self._last = None  # the last send queued: each waits for the one before
        self.done = asyncio.get_running_loop().create_future()  # the response is sent, or the websocket is over
        self.accepted = False
        self.close_sent = False
        self.client_closed = False
        self.gone = None  # the OSError a send raised: the client went away
        self.serving = None  # the task running the websocket's receive loop
        self._close_callback = None

    # --- tornado.httputil.HTTPConnection ---

    def set_close_callback(self, callback):
        self._close_callback = callback

    def set_max_body_size(self, max_body_size):
        pass

    def set_body_timeout(self, timeout):
        pass

    def write_headers(self, start_line, headers, chunk=None):
        if start_line.code == 101:
            self.accepted = True
            skip = ("upgrade", "connection", "sec-websocket-accept", "sec-websocket-protocol", "content-length",
                    "transfer-encoding", "server", "date")
            pairs = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.get_all()
                     if name.lower() not in skip]
            return self.post({"type": "websocket.accept", "subprotocol": headers.get("Sec-WebSocket-Protocol"),
                              "headers": pairs})
        pairs = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.get_all()]
        future = self.post(dict(_response_start(start_line, pairs), type="websocket.http.response.start"))
        if chunk:
            future = self.write(chunk)
        return future

    def write(self, chunk):
        return self.post({"type": "websocket.http.response.body", "body": bytes(chunk), "more_body": True})

    def finish(self):
        if not self.accepted:
            self.post({"type": "websocket.http.response.body", "body": b"", "more_body": False})
            self.end()

    def detach(self):
        return _DetachedStream(self)

    # --- the chain of sends ---

    def post(self, message):
        task = asyncio.ensure_future(self._send_after(self._last, message))
        task.add_done_callback(_retrieved)
        self._last = task
        return task

    async def _send_after(self, previous, message):
        if previous is not None:
            await asyncio.wait([previous])
        if self.gone is not None:
            raise _stream_closed(self.gone)
        try:
            await self._send(message)
        except OSError as e:
            self.gone = e
            raise _stream_closed(e) from None

    async def drained(self):
        if self._last is not None:
            await asyncio.wait([self._last])

    def end(self):
        if not self.done.done():
            self.done.set_result(None)

    def abort(self):
        """tornado's stream.close(): the websocket ends now. ASGI cannot drop the connection without a close frame, so
        it is closed with 1011, as the asgi host closes one whose app failed."""
        if self.accepted and not self.close_sent and not self.client_closed:
            self.close_sent = True
            self.post({"type": "websocket.close", "code": 1011})

    def cancel(self):
        """The asgi host cancelled the scope's task: the handler's receive loop ends too (and on_close runs)."""
        if self.serving is not None and not self.serving.done():
            self.serving.cancel()
        callback, self._close_callback = self._close_callback, None
        if callback is not None:
            callback()


class _DetachedStream:
    """What WebSocketHandler detaches after its 101: the few IOStream members its protocol object uses."""

    def __init__(self, connection):
        from tornado.ioloop import IOLoop

        self.io_loop = IOLoop.current()
        self._connection = connection

    def closed(self):
        return self._connection.gone is not None or self._connection.client_closed

    def close(self):
        self._connection.abort()

    def set_nodelay(self, value):
        pass


_PROTOCOL_CLASS = None


def _websocket_protocol_class():
    global _PROTOCOL_CLASS
    if _PROTOCOL_CLASS is None:
        _PROTOCOL_CLASS = _make_websocket_protocol_class()
    return _PROTOCOL_CLASS


def _make_websocket_protocol_class():
    import tornado.escape
    import tornado.websocket

    class _WebSocketProtocol(tornado.websocket.WebSocketProtocol):
        """tornado's WebSocketProtocol13 in ASGI messages: the asgi host frames, answers pings and completes the
        closing handshake; this calls the handler's open, on_message and on_close as WebSocketProtocol13 does."""

        def __init__(self, handler, connection):
            super().__init__(handler)
            self.connection = connection
            self.close_code = None
            self.close_reason = None
            self._subprotocol = None

        @property
        def selected_subprotocol(self):
            return self._subprotocol

        @selected_subprotocol.setter
        def selected_subprotocol(self, value):
            self._subprotocol = value

        async def accept_connection(self, handler):
            header = handler.request.headers.get("Sec-WebSocket-Protocol")
            if header:
                self._subprotocol = handler.select_subprotocol([s.strip() for s in header.split(",")])
                if self._subprotocol:
                    assert self._subprotocol in [s.strip() for s in header.split(",")]
                    handler.set_header("Sec-WebSocket-Protocol", self._subprotocol)
            handler.clear_header("Content-Type")
            handler.set_status(101)
            handler.finish()  # the connection's write_headers: websocket.accept
            self.stream = handler._detach_stream()
            self.connection.serving = asyncio.current_task()
            try:
                try:
                    opened = handler.open(*handler.open_args, **handler.open_kwargs)
                    if opened is not None:
                        await opened
                except Exception:
                    handler.log_exception(*sys.exc_info())
                    self._abort()
                    return
                await self._receive_frame_loop()
            finally:
                self.connection.end()

        async def _receive_frame_loop(self):
            try:
                while not self.client_terminated:
                    message = await self.connection.receive()
                    if message["type"] == "websocket.receive":
                        data = message.get("text")
                        if data is None:
                            data = message.get("bytes")
                        handled = self._run_callback(self.handler.on_message, data)
                        if handled is not None:
                            await handled
                    elif message["type"] == "websocket.disconnect":
                        # The asgi host has completed the closing handshake (or the client went away: 1006).
                        self.connection.client_closed = True
                        self.client_terminated = True
                        self.server_terminated = True
                        code = message.get("code")
                        if code not in (None, 1005, 1006):
                            self.close_code = code
                        self.close_reason = message.get("reason") or None
            finally:
                self.handler.on_ws_connection_close(self.close_code, self.close_reason)

        def write_message(self, message, binary=False):
            if isinstance(message, dict):
                message = tornado.escape.json_encode(message)
            if binary:
                sent = {"type": "websocket.send", "bytes": tornado.escape.utf8(message)}
            else:
                sent = {"type": "websocket.send", "text": tornado.escape.to_unicode(message)}
            if self.connection.gone is not None:
                raise tornado.websocket.WebSocketClosedError()
            future = self.connection.post(sent)

            async def wrapper():
                try:
                    await future
                except tornado.iostream.StreamClosedError:
                    raise tornado.websocket.WebSocketClosedError() from None

            return asyncio.ensure_future(wrapper())

        def write_ping(self, data):
            # ASGI has no ping message: the asgi host pings (ws_ping_interval) and answers the client's pings.
            pass

        def start_pinging(self):
            pass

        def set_nodelay(self, x):
            pass

        def close(self, code=None, reason=None):
            if not self.server_terminated:
                if not self.connection.close_sent and self.connection.gone is None:
                    self.connection.close_sent = True
                    self.connection.post({"type": "websocket.close", "code": code or 1000, "reason": reason or ""})
                self.server_terminated = True

        def is_closing(self):
            return self.stream.closed() or self.client_terminated or self.server_terminated

        def _process_server_headers(self, key, headers):
            raise NotImplementedError("a server-side websocket has no server headers to process")

    import tornado.iostream  # noqa: F401  (wrapper's StreamClosedError)
    return _WebSocketProtocol


def _response_start(start_line, pairs):
    """http.response.start for tornado's ResponseStartLine: a reason phrase other than the standard one (which the
    asgi host sends by itself) goes along, as Gunicorn's tornado worker sends it."""
    message = {"type": "http.response.start", "status": start_line.code, "headers": pairs}
    if start_line.reason and start_line.reason != responses.get(start_line.code):
        message[sys.modules["_unicorn_asgi"].REASON_KEY] = start_line.reason  # the host serving this request's
    return message


def _retrieved(task):
    if not task.cancelled():
        task.exception()  # a send nobody awaited that failed is not logged


async def _maybe(result):
    if result is not None:
        await result


def _declared_too_large(headers, connection):
    """A Content-Length over the limit is refused on the head, as tornado's server refuses it, before it is read."""
    declared = headers.get("Content-Length")
    return declared is not None and declared.isdigit() and int(declared) > connection.max_body_size


async def _too_large(send):
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": b"Request body too large\n"})


def _stream_closed(cause):
    from tornado.iostream import StreamClosedError

    return StreamClosedError(real_error=cause)
