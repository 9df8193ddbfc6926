"""-k tornado: Gunicorn's TornadoWorker semantics on Unicorn's event-loop host.

Loaded as ``_unicorn_tornado`` in tornado workers. ``adapt`` turns the app into an ASGI 3 callable that the
asgi worker class's loop runs (one thread, one asyncio loop, which tornado's IOLoop wraps). As in Gunicorn's
worker, a ``tornado.web.Application`` (or a ``WSGIContainer``) is served directly, and any other app is taken
as WSGI and served through ``tornado.wsgi.WSGIContainer``, so it runs on the IOLoop's thread, one request at a
time. Each parsed request (C# keeps sockets and HTTP) becomes a ``tornado.httputil.HTTPServerRequest`` whose
connection turns tornado's write_headers/write/finish into ASGI sends, in order, with back-pressure.
"""

import asyncio

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
    return _TornadoAsgi(app)


class _Context:
    __slots__ = ("remote_ip", "protocol", "address")

    def __init__(self, scope):
        client = scope.get("client")
        self.address = client
        self.remote_ip = client[0] if client else None
        self.protocol = scope.get("scheme", "http")


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
        future = self._post({"type": "http.response.start", "status": start_line.code, "headers": pairs})
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
        if scope["type"] != "http":
            raise RuntimeError("the tornado worker class serves HTTP only, not %s" % scope["type"])
        await self._http(scope, receive, send)

    async def _http(self, scope, receive, send):
        from tornado import httputil

        headers = httputil.HTTPHeaders()
        for name, value in scope["headers"]:
            headers.add(name.decode("latin-1"), value.decode("latin-1"))
        uri = scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            uri += "?" + scope["query_string"].decode("latin-1")
        start_line = httputil.RequestStartLine(scope["method"], uri, "HTTP/" + scope["http_version"])
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
        asgi_disconnect_grace_period), so a handler streaming with flush() would never hear of it: once the response
        has begun and the handler has more to write, receive() is watched for the disconnect, which fails the
        handler's writes with StreamClosedError and calls its on_connection_close, as tornado's own server does."""
        watch = None
        try:
            while True:
                if watch is None and connection.queue.empty() and connection.begun:
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


async def _maybe(result):
    if result is not None:
        await result


async def _too_large(send):
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": b"Request body too large\n"})


def _stream_closed(cause):
    from tornado.iostream import StreamClosedError

    return StreamClosedError(real_error=cause)
