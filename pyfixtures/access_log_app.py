"""WSGI app for the access-log comparison test: a few statuses, a quoted response header, a known body."""

STATUSES = {
    "/missing": "404 Not Found",
    "/created": "201 Created",
    "/empty": "204 No Content",
    "/error": "500 Internal Server Error",
}


def app(environ, start_response):
    path = environ["PATH_INFO"]
    status = STATUSES.get(path, "200 OK")
    environ["wsgi.input"].read()
    body = b"" if status.startswith("204") else ("hello " + path).encode("latin-1")
    headers = [("Content-Type", "text/plain"), ("X-Resp", 'v"1"'), ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [body]
