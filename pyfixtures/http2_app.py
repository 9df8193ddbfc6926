"""The HTTP/2 tests' app: echo, a streamed response, the environ keys HTTP/2 changes, trailers, early hints, a large body, hello world."""
import time

# 1 MiB that is not one byte repeated, so a misplaced or lost frame changes its digest.
MEBIBYTE = bytes(range(256)) * 4096


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def pieces():
            for i in range(3):
                yield b"piece %d\n" % i
                time.sleep(0.5)

        return pieces()
    if path == "/environ":
        # Connection is hop-by-hop: it must not reach an HTTP/2 client (RFC 9113 section 8.2.2).
        start_response("200 OK", [("Content-Type", "text/plain"), ("Connection", "keep-alive"), ("X-App", "yes")])
        keys = ("SERVER_PROTOCOL", "wsgi.url_scheme", "HTTP_HOST", "HTTP_COOKIE", "REQUEST_METHOD", "PATH_INFO", "QUERY_STRING",
                "HTTP_X_PROBE", "HTTP_UPGRADE", "HTTP_HTTP2_SETTINGS", "HTTP_VERSION")
        return [("\n".join("%s=%s" % (k, environ.get(k)) for k in keys) + "\n").encode("latin-1")]
    if path == "/trailers":
        # gunicorn.http2.send_trailers is offered on HTTP/2 only; trailers follow the body, so they may be
        # added while it streams. A refused trailer raises ValueError, reported in the body.
        send_trailers = environ.get("gunicorn.http2.send_trailers")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Trailer", "x-checksum, grpc-status")])
        if send_trailers is None:
            return [b"no trailers\n"]

        def body():
            yield b"part one\n"
            send_trailers([("X-Checksum", "abc123")])
            yield b"part two\n"
            send_trailers([("grpc-status", "0")])
            try:
                send_trailers([("Content-Length", "5")])
            except ValueError as e:
                yield ("refused: %s\n" % e).encode("latin-1")

        return body()
    if path == "/hints-late":
        # The client may have reset this stream while the app slept: the hint then goes nowhere, quietly.
        time.sleep(0.5)
        environ["wsgi.early_hints"]([("Link", "</late-%s.css>; rel=preload" % environ.get("QUERY_STRING"))])
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"late"]
    if path == "/hints":
        # Two 103s (the second with a field HTTP/2 may not carry, dropped), the response, and a hint after the
        # head went out with the first bytes, ignored as on HTTP/1.1. The query names this stream's hints.
        tag = environ.get("QUERY_STRING") or "0"
        early_hints = environ["wsgi.early_hints"]
        early_hints([("Link", "</style-%s.css>; rel=preload; as=style" % tag)])
        early_hints([("Link", "</app-%s.js>; rel=preload; as=script" % tag), ("X-Hint", "  two  "), ("Connection", "close")])
        big = tag == "big"
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(MEBIBYTE) if big else 5 + len(tag)))])

        def body():
            if big:
                yield MEBIBYTE[:1000]
                early_hints([("Link", "</late.css>; rel=preload")])
                yield MEBIBYTE[1000:]
                return
            yield b"fin"
            early_hints([("Link", "</late.css>; rel=preload")])
            yield ("al" + tag).encode()

        return body()
    if path == "/large":
        # 64 MiB: more than any socket buffer, so a client that does not read stops the write.
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(64 << 20))])
        return [MEBIBYTE] * 64
    if path == "/slow":
        time.sleep(0.2)
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
