"""bench/soak --control's app: leak_app (/, /leak), plus /dirty, which calls the dirty pool and streams.

/dirty answers 200 only when both a plain call and a streamed call to the pool succeed.
"""

from gunicorn.dirty import DirtyApp, get_dirty_client

from pyfixtures.leak_app import app as leak_app

SOAKER = f"{__name__}:Soaker"


class Soaker(DirtyApp):
    def square(self, x):
        return x * x

    def count(self, n):
        yield from range(n)


def app(environ, start_response):
    if environ.get("PATH_INFO") != "/dirty":
        return leak_app(environ, start_response)
    client = get_dirty_client(timeout=60)
    ok = client.execute(SOAKER, "square", 7) == 49 and list(client.stream(SOAKER, "count", 5)) == [0, 1, 2, 3, 4]
    body = b"ok" if ok else b"wrong answer"
    start_response("200 OK" if ok else "500 Internal Server Error",
                   [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
