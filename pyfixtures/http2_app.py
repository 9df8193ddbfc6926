"""The HTTP/2 tests' app: echo, a streamed response, the environ keys HTTP/2 changes, hello world."""
import time


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
                "HTTP_X_PROBE", "HTTP_UPGRADE", "HTTP_HTTP2_SETTINGS")
        return [("\n".join("%s=%s" % (k, environ.get(k)) for k in keys) + "\n").encode("latin-1")]
    if path == "/slow":
        time.sleep(0.2)
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
