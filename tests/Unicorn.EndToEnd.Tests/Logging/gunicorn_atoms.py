# Formats access-log lines with Gunicorn's own code (its HTTP parser, wsgi.create and glogging atoms) for
# the cases the C# test sends on stdin, with %(t)s pinned to a fixed instant. Used by GunicornAtomsParityTests.
import datetime, json, os, sys, time
import gunicorn.glogging as glogging
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser
from gunicorn.http import wsgi

FIXED = 1795811400  # 2026-11-27 20:30:00 UTC
class FixedTime:
    def __getattr__(self, name): return getattr(time, name)
    def strftime(self, fmt, t=None): return time.strftime(fmt, time.localtime(FIXED) if t is None else t)
glogging.time = FixedTime()

class FakeSock:
    def __init__(self, data): self.data = data; self.sent = b""
    def recv(self, n):
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk
    def sendall(self, b): self.sent += b
    def send(self, b): self.sent += b; return len(b)

cases = json.load(sys.stdin)
out = []
for c in cases:
    cfg = Config()
    cfg.set("access_log_format", c["format"])
    cfg.set("accesslog", "-")
    log = glogging.Logger(cfg)
    sock = FakeSock(c["request"].encode("latin-1"))
    req = next(RequestParser(cfg, sock, ("127.0.0.1", 5555)))
    resp, environ = wsgi.create(req, sock, ("127.0.0.1", 5555), ("127.0.0.1", 8000), cfg)
    resp.start_response(c["status"], [tuple(h) for h in c["response_headers"]])
    resp.write(c["body"].encode("latin-1"))
    rt = datetime.timedelta(microseconds=c["duration_us"])
    line = c["format"] % glogging.SafeAtoms(log.atoms(resp, req, environ, rt))
    env = {k: v for k, v in environ.items() if isinstance(v, str)}
    out.append({"line": line, "pid": os.getpid(), "environ": env, "sent": resp.sent})
json.dump(out, sys.stdout)
