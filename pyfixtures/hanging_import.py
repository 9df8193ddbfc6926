"""An app whose import never finishes (a stuck database connect, say): the boot allowance must end it."""

import sys
import time

print("hanging_import: importing, and never done", file=sys.stderr, flush=True)
while True:
    time.sleep(3600)


def app(environ, start_response):  # never reached
    start_response("200 OK", [])
    return [b""]
