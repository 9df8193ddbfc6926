"""An app that leaks ~10 MB per request and reports its pid, its RSS before the leak and its peak RSS.

The body is "PID BEFORE_KB PEAK_KB": VmRSS before this request's allocation, and ru_maxrss (the
process's peak resident set) after it, in KiB.
"""

import os
import resource

LEAK = 10 * 1024 * 1024
_kept = []


def _rss_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def app(environ, start_response):
    before = _rss_kb()
    if environ.get("PATH_INFO") == "/leak":
        _kept.append(b"\x01" * LEAK)  # filled, so every page is resident
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    body = f"{os.getpid()} {before} {peak}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
