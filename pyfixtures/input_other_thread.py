"""Reads wsgi.input on a thread other than the request's, as a Django `async def` view does under a WSGI worker
(asgiref's async_to_sync runs it on a loop in another thread, where `request.body` reads the body). Answers the
body's length and SHA-256, or the read's error."""
import hashlib
import threading


def app(environ, start_response):
    result = {}

    def read():
        try:
            data = environ["wsgi.input"].read()
            result["body"] = b"%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode())
        except Exception as e:  # noqa: BLE001 - the test reads the error
            result["body"] = ("%s: %s" % (type(e).__name__, e)).encode()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    body = result["body"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
