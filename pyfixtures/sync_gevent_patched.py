"""A sync WSGI app that patches with gevent when it is imported (as ``import grequests`` does) and runs a child process
in its requests. Gunicorn's sync worker calls it on the thread that imported gevent, whose hub has the default loop,
the only one gevent's ``subprocess`` can watch children on."""
from gevent import monkey

monkey.patch_all()

import subprocess  # noqa: E402

import gevent  # noqa: E402


def app(environ, start_response):
    try:
        # A greenlet of this thread's hub, as grequests' calls are, and then a child that hub must wait for.
        greeted = gevent.spawn(lambda: "greenlet ran").get()
        child = subprocess.run(["echo", "child ran"], capture_output=True, check=True).stdout.decode().strip()
        body = "%s, %s" % (greeted, child)
    except Exception as e:  # noqa: BLE001 - the test reads what failed
        body = "%s: %s" % (type(e).__name__, e)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
