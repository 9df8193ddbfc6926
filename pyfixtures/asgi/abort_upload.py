"""An ASGI app that reads streamed uploads, for uploads the client abandons midway (AsgiAbortedUploadTests).

Python's cyclic collector is off in this worker, so whatever the server leaves in a reference cycle stays: /alive
counts the uploads' request objects (receive's self) still alive. Each one that is holds the server's exchange, and
through it the request's body buffers (megabytes for a chunked upload): they must go when the request ends.
/keep uploads are kept alive on purpose, as an app's or a framework's own cycle would keep them: /exchanges counts
them, and those that still hold their exchange.
"""
import gc
import weakref

gc.disable()
_uploads = []
_kept = []


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/alive":
        body = str(sum(1 for r in _uploads if r() is not None)).encode()
    elif scope["path"] == "/exchanges":
        body = ("%d kept, %d holding" % (len(_kept), sum(1 for r in _kept if r._ex is not None))).encode()
    else:
        if scope["path"] == "/keep":
            _kept.append(receive.__self__)
        else:
            _uploads.append(weakref.ref(receive.__self__))
        n = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            n += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = str(n).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
