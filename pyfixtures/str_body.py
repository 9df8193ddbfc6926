"""Apps that break PEP 3333 with str body items, as Gunicorn's examples/bad.py does."""


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/list":
        return ["ok"]
    return iter([b"first\n", "second"])
