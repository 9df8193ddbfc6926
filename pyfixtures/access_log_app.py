"""WSGI app for the access-log comparison test: a few statuses, a quoted response header, a known body."""

STATUSES = {
    "/missing": "404 Not Found",
    "/created": "201 Created",
    "/empty": "204 No Content",
    "/no-content-body": "204 No Content",
    "/not-modified": "304 Not Modified",
    "/error": "500 Internal Server Error",
}


def app(environ, start_response):
    path = environ["PATH_INFO"]
    status = STATUSES.get(path, "200 OK")
    environ["wsgi.input"].read()
    # /no-content-body and /not-modified give a body a 204/304 may not carry, /nolength no Content-Length:
    # what %(b)s counts for them (and for HEAD) is Gunicorn's resp.sent.
    body = b"" if path == "/empty" else ("hello " + path).encode("latin-1")
    headers = [("Content-Type", "text/plain"), ("X-Resp", 'v"1"')]
    if path != "/nolength":
        headers.append(("Content-Length", str(len(body))))
    start_response(status, headers)
    return [body]
