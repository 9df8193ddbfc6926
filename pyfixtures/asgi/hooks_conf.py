"""Request hooks as users write them, for -k asgi (tests/Unicorn.EndToEnd.Tests/Asgi/AsgiHookTests.cs)."""


def pre_request(worker, req):
    worker.log.info("pre_request %s %s ua=%s" % (req.method, req.path, dict(req.headers).get("USER-AGENT")))
    if req.path == "/deny-by-hook":
        raise PermissionError("refused by pre_request")


def post_request(worker, req, environ, resp):
    worker.log.info("post_request %s %s -> %s sent=%s raw=%s ua=%s path_info=%s" % (
        req.method, req.path, resp.status, resp.sent, environ["RAW_URI"], environ.get("HTTP_USER_AGENT"),
        ascii(environ["PATH_INFO"])))
    if req.path == "/post-raises":
        raise ValueError("post_request failed on purpose")
