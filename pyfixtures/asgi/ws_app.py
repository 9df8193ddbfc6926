"""A raw ASGI app exercising websockets under -k asgi (tests/Unicorn.EndToEnd.Tests/Asgi/WebSocketTests.cs)."""

import asyncio
import sys


def log(line):
    print(line, flush=True)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"plain http"})
        return
    assert (await receive())["type"] == "websocket.connect"
    path = scope["path"]
    if path == "/reject":
        await send({"type": "websocket.close"})
        return
    if path == "/deny":
        await send({"type": "websocket.http.response.start", "status": 401,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"6")]})
        await send({"type": "websocket.http.response.body", "body": b"denied"})
        return
    if path == "/subprotocol":
        offered = scope["subprotocols"]
        await send({"type": "websocket.accept", "subprotocol": offered[-1] if offered else None,
                    "headers": [(b"x-offered", ",".join(offered).encode())]})
    else:
        await send({"type": "websocket.accept"})
    if path == "/serverclose":
        await send({"type": "websocket.close", "code": 4000, "reason": "bye"})
        message = await receive()
        log("after server close: %s %s" % (message["type"], message.get("code")))
        try:
            await send({"type": "websocket.send", "text": "too late"})
        except Exception as e:
            log("send after close raised %s: %s" % (type(e).__name__, e))
        return
    if path == "/raise":
        raise ValueError("ws app failed after accept")
    if path == "/badclose":
        # A close reason over the 123 bytes a close frame holds: refused in the app's send, which then fails.
        # The app sees the refusal in Python's words, not .NET's.
        for close in ({"code": 1000, "reason": "\u00e9" * 62}, {"code": 999}):
            try:
                await send(dict(close, type="websocket.close"))
            except ValueError as e:
                log("bad close raised ValueError: %s" % e)
        await send({"type": "websocket.close", "code": 1000, "reason": "x" * 200})
    if path == "/flood":
        # Sends until the client stops reading: send() must hold the app back, not buffer without bound.
        chunk = b"x" * 65536
        sent = 0
        try:
            while True:
                await send({"type": "websocket.send", "bytes": chunk})
                sent += 1
                if sent % 100 == 0:
                    log("flood sent %d" % sent)
        except OSError as e:
            log("flood ended after %d" % sent)
            log("flood send raised %s: %s" % (type(e).__name__, e))
        return
    scope_line = "scope %s %s %s" % (scope["scheme"], scope["path"], sorted(scope["extensions"]))
    log(scope_line)
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            reason = message.get("reason")
            log("client closed %s%s" % (message["code"], " " + reason if reason else ""))
            return
        if message.get("text") is not None:
            text = message["text"]
            if text == "scope":
                await send({"type": "websocket.send", "text": scope_line})
            elif text.startswith("len"):
                await send({"type": "websocket.send", "text": "len %d" % len(text)})
            else:
                await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})
