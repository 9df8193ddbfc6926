"""Apps for -k tornado: the "Hello, world" Application from tornado's documentation, and a coroutine handler."""

import asyncio
import hashlib

import tornado.iostream
import tornado.web
import tornado.websocket


class MainHandler(tornado.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


class SleepHandler(tornado.web.RequestHandler):
    # Many of these wait at once on the one IOLoop, as under Gunicorn's tornado worker.
    async def get(self):
        await asyncio.sleep(float(self.get_argument("s", "1")))
        self.write("slept %s" % self.request.remote_ip)


class EchoHandler(tornado.web.RequestHandler):
    def post(self):
        self.set_header("Content-Type", "application/octet-stream")
        self.write("%s %d " % (self.get_body_argument("name", "-"), len(self.request.body)))


class StreamHandler(tornado.web.RequestHandler):
    async def get(self):
        for i in range(5):
            self.write("part %d\n" % i)
            await self.flush()


EVENTS_ENDED = []


class EventsHandler(tornado.web.RequestHandler):
    # Server-sent events until the client goes away: flush() then raises StreamClosedError and on_connection_close
    # runs, as under tornado's own server, so the handler ends instead of waiting for ever.
    async def get(self):
        self.set_header("Content-Type", "text/event-stream")
        try:
            for i in range(100000):
                self.write("data: %d\n\n" % i)
                await self.flush()
                await asyncio.sleep(0.05)
        except tornado.iostream.StreamClosedError:
            EVENTS_ENDED.append("StreamClosedError")

    def on_connection_close(self):
        EVENTS_ENDED.append("on_connection_close")


class LongPollHandler(tornado.web.RequestHandler):
    # The long poll of tornado's chat demo: nothing is written until a message comes (none does here), and a client
    # that leaves meanwhile is told by on_connection_close, which ends the wait.
    async def get(self):
        self.waiting = asyncio.get_running_loop().create_future()
        await self.waiting
        if not self.request.connection.stream.closed():
            self.finish("a message")

    def on_connection_close(self):
        EVENTS_ENDED.append("poll-closed")
        if not self.waiting.done():
            self.waiting.set_result(None)


class EventsEndedHandler(tornado.web.RequestHandler):
    def get(self):
        self.write(" ".join(sorted(EVENTS_ENDED)) or "-")


@tornado.web.stream_request_body
class UploadHandler(tornado.web.RequestHandler):
    # The body arrives in pieces as the client sends it, not whole.
    def prepare(self):
        self.pieces = 0
        self.total = 0
        self.digest = hashlib.sha256()

    def data_received(self, chunk):
        self.pieces += 1
        self.total += len(chunk)
        self.digest.update(chunk)

    def put(self):
        self.write("%d %d %s" % (self.pieces, self.total, self.digest.hexdigest()))


class NonLatinHeaderHandler(tornado.web.RequestHandler):
    def get(self):
        self.set_header("X-Val", "caf\u00e9 \u20ac")
        self.write("never sent")


class ReasonHandler(tornado.web.RequestHandler):
    def get(self):
        raise tornado.web.HTTPError(400, reason="Missing Widget")


class EchoWebSocket(tornado.websocket.WebSocketHandler):
    # The echo handler of tornado's websocket documentation; "close" asks the server to close with a code of its own.
    def check_origin(self, origin):
        return origin != "http://evil.example"

    def open(self):
        EVENTS_ENDED.append("ws-open")

    async def on_message(self, message):
        if message == "close":
            self.close(4001, "bye")
        elif isinstance(message, bytes):
            await self.write_message(message[::-1], binary=True)
        else:
            await self.write_message({"echo": message, "path": self.request.path})

    def on_close(self):
        EVENTS_ENDED.append("ws-close:%s:%s" % (self.close_code, self.close_reason))


def make_app():
    return tornado.web.Application([
        (r"/", MainHandler),
        (r"/sleep", SleepHandler),
        (r"/echo", EchoHandler),
        (r"/stream", StreamHandler),
        (r"/upload", UploadHandler),
        (r"/events", EventsHandler),
        (r"/events/ended", EventsEndedHandler),
        (r"/poll", LongPollHandler),
        (r"/nonlatin", NonLatinHeaderHandler),
        (r"/ws", EchoWebSocket),
        (r"/reason", ReasonHandler),
    ])


app = make_app()


def wsgi_app(environ, start_response):
    """A plain WSGI app: -k tornado serves it through WSGIContainer."""
    if environ["PATH_INFO"] == "/boom":
        raise ValueError("wsgi boom")
    if environ["PATH_INFO"] == "/found":  # Werkzeug's reason phrases are upper case
        start_response("302 FOUND", [("Location", "/")])
        return [b""]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok ", environ["wsgi.url_scheme"].encode(), b" ", environ["REMOTE_ADDR"].encode()]
