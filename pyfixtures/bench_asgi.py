"""ASGI apps for bench/run's asgi-* scenarios, served alike by Unicorn (-k asgi), Gunicorn with uvicorn's
worker and hypercorn: raw ASGI, so the numbers are the servers' and not a framework's."""

import json

_HELLO = b"Hello, world!\n"
_TEXT = [(b"content-type", b"text/plain")]
_ITEM = b"y" * 16384
_JSON = json.dumps({"service": "bench", "version": 3, "ok": True, "items": [1, 2, 3],
                    "owner": {"id": 42, "name": "unicorn"}}, sort_keys=True, separators=(",", ":")).encode()


async def _lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def hello(scope, receive, send):
    """The 14-byte hello world: the server's per-request overhead. Also answers http on the websocket bench."""
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    if scope["type"] == "websocket":
        return await _echo(receive, send)
    await send({"type": "http.response.start", "status": 200, "headers": _TEXT + [(b"content-length", b"14")]})
    await send({"type": "http.response.body", "body": _HELLO})


async def json_app(scope, receive, send):
    """A small JSON document, serialised per request as a framework would."""
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    body = json.dumps(json.loads(_JSON), sort_keys=True, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


async def stream(scope, receive, send):
    """1 MiB as 64 bodies of 16 KiB with more_body, no Content-Length: chunked, each awaited in turn."""
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    await send({"type": "http.response.start", "status": 200, "headers": _TEXT})
    for _ in range(63):
        await send({"type": "http.response.body", "body": _ITEM, "more_body": True})
    await send({"type": "http.response.body", "body": _ITEM})


async def _echo(receive, send):
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


async def upload(scope, receive, send):
    """Reads the whole request body as it streams in and answers its length (bench/http2 asgiupload)."""
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    total = 0
    while True:
        message = await receive()
        total += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = str(total).encode()
    await send({"type": "http.response.start", "status": 200, "headers": _TEXT})
    await send({"type": "http.response.body", "body": body})
