"""Apps for the uwsgi protocol tests of the async worker classes (tests/Unicorn.EndToEnd.Tests/Uwsgi): WSGI (gevent,
eventlet), ASGI and tornado, each echoing what the request looked like as the same JSON, and streaming a response
without Content-Length under .../stream."""

import json

import tornado.web


def wsgi_app(environ, start_response):
    if environ["PATH_INFO"].endswith("/stream"):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"part1,", b"part2,", b"part3"]
    body = environ["wsgi.input"].read()
    echo = {
        "method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"], "query": environ["QUERY_STRING"],
        "version": environ["SERVER_PROTOCOL"], "scheme": environ["wsgi.url_scheme"], "client": environ["REMOTE_ADDR"],
        "headers": {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")},
        "body": body.decode("latin-1"), "body_length": len(body),
    }
    data = json.dumps(echo, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


async def asgi_app(scope, receive, send):
    if scope["type"] == "lifespan":
        return
    if scope["path"].endswith("/stream"):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"part1,", b"part2,"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"part3"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    echo = {
        "method": scope["method"], "path": scope["path"], "query": scope["query_string"].decode("latin-1"),
        "version": scope["http_version"], "scheme": scope["scheme"], "client": scope["client"][0],
        "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
        "body": body.decode("latin-1"), "body_length": len(body),
    }
    data = json.dumps(echo, sort_keys=True).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


class EchoHandler(tornado.web.RequestHandler):
    def echo(self):
        request = self.request
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps({
            "method": request.method, "path": request.path, "query": request.query, "version": request.version,
            "scheme": request.protocol, "client": request.remote_ip,
            "headers": {k.lower(): v for k, v in request.headers.get_all()},
            "body": request.body.decode("latin-1"), "body_length": len(request.body),
        }, sort_keys=True))

    get = post = echo


class StreamHandler(tornado.web.RequestHandler):
    async def get(self):
        for part in ("part1,", "part2,", "part3"):
            self.write(part)
            await self.flush()


tornado_app = tornado.web.Application([(r".*/stream", StreamHandler), (r".*", EchoHandler)])
