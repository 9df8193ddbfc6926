"""Bare ASGI callables for the protocol edges: apps that misuse send, and lifespan that fails."""
import os


async def misuse(scope, receive, send):
    if scope["type"] == "lifespan":
        return  # no lifespan support: asgi_lifespan = auto serves without it
    path = scope["path"]
    if path == "/noresponse":
        return
    if path == "/raise":
        raise ValueError("app raised on purpose")
    if path == "/raise-after-500":
        # As Starlette's ServerErrorMiddleware: the 500 is sent in full, then the app's exception re-raised.
        await send({"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"21")]})
        await send({"type": "http.response.body", "body": b"Internal Server Error"})
        raise ValueError("raised after its 500 was sent")
    if path == "/trailers-over-http1":
        # Trailers on a response that cannot carry them (HTTP/1.1, no "trailers": True): a warning, as Gunicorn drops them.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"1")]})
        return
    if path == "/body-before-start":
        await send({"type": "http.response.body", "body": b"early"})
        return
    if path == "/block":
        import time
        time.sleep(120)  # blocks the event loop: the worker stops beating and the master's timeout ends it
    if path == "/sleep":
        await _slow_part(float(scope["query_string"] or b"3"))
    if path == "/block-for":
        import time
        time.sleep(float(scope["query_string"] or b"3"))  # holds the loop, but less than the master's timeout
    if path == "/early-hints":
        status = int(scope["query_string"] or b"103")
        await send({"type": "http.response.informational", "status": status,
                    "headers": [(b"link", b"</style.css>; rel=preload; as=style")]})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
        await send({"type": "http.response.informational", "status": 103, "headers": [(b"link", b"</late.js>")]})
        return
    if path == "/big":
        # 32 MiB streamed in 256 KiB bodies: far more than a client's socket buffers hold.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/octet-stream")]})
        chunk = b"z" * (256 * 1024)
        for _ in range(127):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": chunk})
        return
    if path == "/one-big-body":
        # 40 MiB in one http.response.body, as a framework's Response(content=...) sends it.
        body = b"y" * (40 * 1024 * 1024)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})
        return
    if path == "/pathsend":
        # The file named by the query string, by http.response.pathsend.
        name = scope["query_string"].decode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(os.path.getsize(name)).encode())]})
        await send({"type": "http.response.pathsend", "path": name})
        return
    if path == "/nul-header":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1\0x-injected\0yes")]})
        await send({"type": "http.response.body", "body": b"never"})
        return
    if path == "/bad-header-name":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"bad name", b"1")]})
        await send({"type": "http.response.body", "body": b"never"})
        return
    if path.startswith("/echo-scope"):
        import json
        body = json.dumps({"path": path, "raw_path": scope["raw_path"].decode("latin-1"),
                           "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]],
                           "types": sorted({type(x).__name__ for pair in scope["headers"] for x in pair}),
                           "extensions": sorted(scope["extensions"]), "type": scope["type"],
                           "client": list(scope["client"]), "state": scope["state"]}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})
        return
    if path == "/header-shapes":
        # Shapes fast.start leaves to Python's checks: a generator of pairs, list pairs, bytearray and str items.
        pairs = ((n, v) for n, v in [(b"x-gen", bytearray(b"1")), (b"content-length", b"2")])
        await send({"type": "http.response.start", "status": 200, "headers": pairs})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if path == "/header-list-pairs":
        await send({"type": "http.response.start", "status": 200,
                    "headers": ([b"x-list", "str-value"], ["content-length", b"2"])})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if path == "/header-not-bytes":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", 7)]})
        await send({"type": "http.response.body", "body": b"never"})
        return
    if path == "/connection-close":
        # Shedding a keep-alive connection, as apps and middleware do.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"connection", b"close"), (b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if path == "/start-twice":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _slow_part(seconds):
    import asyncio
    await asyncio.sleep(seconds)  # a suspended task: max_request_time shows this await chain


async def failing_lifespan(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
