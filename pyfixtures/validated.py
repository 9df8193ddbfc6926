"""Apps wrapped in wsgiref.validate.validator: any PEP 3333 violation by the server raises."""

from wsgiref.validate import validator


def _simple(environ, start_response):
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body) + 3))])
    return [b"ok:", body]


def _streaming(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"w")
    for line in environ["wsgi.input"]:
        pass
    environ["wsgi.errors"].write("validated\n")
    environ["wsgi.errors"].flush()
    return iter([b"a", b"b"])


app = validator(_simple)
streaming = validator(_streaming)
