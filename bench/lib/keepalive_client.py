"""Keep-alive clients that record every failed request with its time, for bench/soak.

wrk only counts errors; this says when each one happened and how, so a failure can be laid against
the signal sent just before it. Each of N threads sends GET / on one connection, reconnects when the
server answers `Connection: close`, and on a failure logs it and reconnects.

Usage: keepalive_client.py PORT SECONDS CONNECTIONS
Prints one line per failure, "FAIL <seconds since start> <connection> <requests on it> <error>",
then "TOTAL <requests> <failures>".
"""

import http.client
import sys
import threading
import time


def main():
    port, seconds, connections = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    start = time.monotonic()
    lock = threading.Lock()
    failures = []
    totals = [0] * connections

    def run(index):
        conn, served = None, 0
        while time.monotonic() - start < seconds:
            try:
                if conn is None:
                    conn, served = http.client.HTTPConnection("127.0.0.1", port, timeout=10), 0
                conn.request("GET", "/")
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    raise RuntimeError(f"status {response.status}")
                totals[index] += 1
                served += 1
                if (response.getheader("Connection") or "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception as e:  # any failure is what this client is for: record it and go on
                with lock:
                    failures.append((time.monotonic() - start, index, served, f"{type(e).__name__}: {e}"))
                if conn is not None:
                    conn.close()
                conn = None

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for at, index, served, error in sorted(failures):
        print(f"FAIL {at:.3f} {index} {served} {error}")
    print(f"TOTAL {sum(totals)} {len(failures)}")


if __name__ == "__main__":
    main()
