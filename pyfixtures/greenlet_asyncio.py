"""asyncio.get_event_loop() at import and in a request under -k gevent / -k eventlet (GreenletWorkerTests)."""

import asyncio


def _loop():
    try:
        return type(asyncio.get_event_loop()).__name__
    except RuntimeError as e:
        return "RuntimeError: " + str(e).split(" in thread")[0]


AT_IMPORT = _loop()


def app(environ, start_response):
    body = ("import: %s; request: %s" % (AT_IMPORT, _loop())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
