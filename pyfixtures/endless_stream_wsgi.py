"""A WSGI response that never ends (a live feed from a generator): a graceful stop can only end it by closing it."""
import sys
import time


def app(environ, start_response):
    if environ["PATH_INFO"] == "/ping":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"pong"]
    start_response("200 OK", [("Content-Type", "text/event-stream")])

    def feed():
        n = 0
        try:
            while True:
                yield b"data: %d\n\n" % n
                n += 1
                time.sleep(0.2)
        finally:
            print("app: stream closed", file=sys.stderr, flush=True)

    return feed()
