"""A sync WSGI app that runs a coroutine the way older code does, on the loop asyncio.get_event_loop() makes.

Gunicorn's sync worker calls the app on the main thread, where (before Python 3.14) that call makes a loop. With
ASYNCIO_AT_IMPORT set the module imports asyncio when it loads; else only the first request does."""
import os

if os.environ.get("ASYNCIO_AT_IMPORT"):
    import asyncio  # noqa: F401


async def _answer():
    import asyncio
    await asyncio.sleep(0)
    return "coroutine ran"


def app(environ, start_response):
    import asyncio
    try:
        loop = asyncio.get_event_loop()
        body = "%s, same loop: %s" % (loop.run_until_complete(_answer()), asyncio.get_event_loop() is loop)
    except RuntimeError as e:
        body = "RuntimeError: %s" % e
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
