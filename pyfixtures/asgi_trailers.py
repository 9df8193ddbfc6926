"""An ASGI app sending response trailers where the scope offers them (HTTP/2), as the ASGI spec describes."""


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    offered = "http.response.trailers" in scope.get("extensions", {})
    await send({"type": "http.response.start", "status": 200, "trailers": offered,
                "headers": [(b"content-type", b"text/plain"), (b"trailer", b"x-checksum")]})
    await send({"type": "http.response.body", "body": b"part one\n", "more_body": True})
    await send({"type": "http.response.body", "body": b"offered\n" if offered else b"not offered\n"})
    if offered:
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc123")]})
