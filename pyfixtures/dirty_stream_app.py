"""Streaming dirty results, written for Gunicorn 26's API: actions that yield, read with client.stream()."""
import asyncio
import json
import os
import time

from gunicorn.dirty import DirtyApp, DirtyAppError, DirtyTimeoutError, get_dirty_client

STREAMER = f"{__name__}:Streamer"


class Streamer(DirtyApp):
    def tokens(self, n):
        for i in range(n):
            yield f"token{i}"

    def blobs(self, n):
        for i in range(n):
            yield bytes([i]) * 4

    def big(self, n, size, mark):
        # Records how far the generator got, so the test can see it wait for a slow reader.
        for i in range(n):
            with open(mark, "w") as f:
                f.write(str(i))
            yield "x" * size

    def broken(self):
        yield "one"
        yield "two"
        raise RuntimeError("failed mid-stream")

    async def agen(self, n):
        for i in range(n):
            await asyncio.sleep(0.01)
            yield {"i": i}

    def endless(self, closed_mark):
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            with open(closed_mark, "w") as f:
                f.write("closed")

    def stalls(self, seconds):
        yield "first"
        time.sleep(seconds)
        yield "second"

    def plain(self):
        return "not a generator"


def app(environ, start_response):
    client = get_dirty_client(timeout=120)
    path = environ["PATH_INFO"]
    qs = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    if path == "/tokens":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (f"{chunk}\n".encode() for chunk in client.stream(STREAMER, "tokens", int(qs["n"])))
    if path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (chunk.encode() for chunk in client.stream(STREAMER, "big", int(qs["n"]), int(qs["size"]), qs["mark"]))
    if path == "/blobs":
        result = [b.hex() for b in client.stream(STREAMER, "blobs", 3)]
    elif path == "/async":
        async def collect():
            return [chunk async for chunk in client.stream_async(STREAMER, "agen", 3)]
        result = asyncio.run(collect())
    elif path == "/broken":
        chunks = []
        try:
            for chunk in client.stream(STREAMER, "broken"):
                chunks.append(chunk)
            result = {"chunks": chunks}
        except DirtyAppError as e:
            result = {"chunks": chunks, "error": type(e).__name__, "message": e.message}
    elif path == "/stalls":
        chunks = []
        try:
            for chunk in client.stream(STREAMER, "stalls", float(qs["s"])):
                chunks.append(chunk)
            result = {"chunks": chunks}
        except DirtyTimeoutError as e:
            result = {"chunks": chunks, "error": type(e).__name__}
    elif path == "/first":
        stream = client.stream(STREAMER, "endless", qs["mark"])
        result = [next(stream), next(stream)]
        stream.close()
        # The client is still usable for plain calls.
        result.append(client.execute(STREAMER, "plain"))
    elif path == "/plain":
        result = list(client.stream(STREAMER, "plain"))
    else:
        result = None
    body = json.dumps({"result": result, "pid": os.getpid()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
