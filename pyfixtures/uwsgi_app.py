"""Apps for the uwsgi protocol and 103 Early Hints tests (tests/Unicorn.EndToEnd.Tests/Uwsgi)."""

import json


def app(environ, start_response):
    """Echoes what the request looked like: environ keys the tests check, and the body."""
    # Routed by the last segment, so the same app answers under nginx's /tcp/ and /unix/ prefixes.
    path = "/" + environ["PATH_INFO"].rsplit("/", 1)[-1]
    if path == "/hints":
        return hints(environ, start_response)
    if path == "/stream":
        # No Content-Length: framed by closing the connection on uwsgi, chunked on HTTP/1.1.
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"part1,", b"part2,", b"part3"]
    if path == "/bad-hint":
        try:
            environ["wsgi.early_hints"]([("Link", "</a>\r\nX-Injected: 1")])
        except ValueError as e:
            body = ("refused: %s" % e).encode()
        else:
            body = b"sent"
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    body = environ["wsgi.input"].read()
    keys = ["REQUEST_METHOD", "PATH_INFO", "SCRIPT_NAME", "QUERY_STRING", "RAW_URI", "SERVER_PROTOCOL", "SERVER_NAME",
            "SERVER_PORT", "REMOTE_ADDR", "REMOTE_PORT", "CONTENT_TYPE", "CONTENT_LENGTH", "REQUEST_URI",
            "DOCUMENT_ROOT", "wsgi.url_scheme"]
    echo = {k: environ.get(k) for k in keys}
    echo["headers"] = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
    echo["body"] = body.decode("latin-1")
    echo["body_length"] = len(body)
    echo["early_hints"] = callable(environ.get("wsgi.early_hints"))
    data = json.dumps(echo, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def hints(environ, start_response):
    early_hints = environ["wsgi.early_hints"]
    early_hints([("Link", "</style.css>; rel=preload; as=style")])
    early_hints([(b"Link", b"</app.js>; rel=preload; as=script"), ("X-Hint", "  two  ")])
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])

    def body():
        yield b"fin"
        # The head went out with the first bytes: ignored, as Gunicorn does.
        early_hints([("Link", "</late.css>; rel=preload")])
        yield b"al"

    return body()
