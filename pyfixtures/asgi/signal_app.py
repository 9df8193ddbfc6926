"""An ASGI app whose lifespan startup adds signal handlers to the running loop, as apps that drain their own
background work on SIGTERM do. The worker's loop is not on the main thread, where asyncio refuses them."""
import asyncio
import signal
import sys


def _say(line):
    print(line, file=sys.stderr, flush=True)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                loop = asyncio.get_running_loop()

                def on_term(what):
                    # Runs on the loop: get_running_loop() raises anywhere else.
                    _say("app: %s, on the loop: %s" % (what, asyncio.get_running_loop() is loop))

                loop.add_signal_handler(signal.SIGTERM, on_term, "SIGTERM callback")
                loop.add_signal_handler(signal.SIGALRM, _say, "app: SIGALRM callback")
                loop.add_signal_handler(signal.SIGUSR1, _say, "app: SIGUSR1 callback")
                removed = loop.remove_signal_handler(signal.SIGUSR1), loop.remove_signal_handler(signal.SIGUSR1)
                try:
                    loop.add_signal_handler(signal.SIGTERM, asyncio.sleep)
                    refused = "no"
                except TypeError:
                    refused = "TypeError"
                scope["state"]["startup"] = "done removed=%s,%s coroutine=%s" % (removed[0], removed[1], refused)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                _say("app: lifespan shutdown")
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = scope["state"].get("startup", "startup did not complete").encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
