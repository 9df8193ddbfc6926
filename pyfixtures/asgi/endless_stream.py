"""A server-sent-events endpoint that never ends (a live feed), with lifespan: a graceful stop can only end it by
cancelling it. Each step says so on stderr, for the test to see what ran before the worker exited."""
import asyncio
import sys


def _say(line):
    print(line, file=sys.stderr, flush=True)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                _say("app: lifespan shutdown")
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/ping":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"pong"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    n = 0
    try:
        while True:
            await send({"type": "http.response.body", "body": b"data: %d\n\n" % n, "more_body": True})
            n += 1
            await asyncio.sleep(0.2)
    except asyncio.CancelledError:
        _say("app: stream cancelled")
        raise
