"""bench/soak --long: an hour (by default) of mixed load against one Unicorn master, looking for leaks.

One master with SOAK_WORKERS workers serves pyfixtures.soak_app:app (a plain WSGI app and a Flask app
behind one dispatcher). Load, all at once for the whole run:
  - wrk -t1 on GET / (hello world), paced, in chunks of SOAK_WRK_CHUNK seconds so that each chunk's
    failures can be laid against the events inside it (wrk only counts); lib/status_count.lua counts
    non-2xx answers;
  - POST clients: bodies of 4 KiB to 1 MiB (log-uniform) to /len, the answer must be the length;
  - Flask clients: GET /flask/hello/<name> and POST /flask/echo, the answer is checked;
  - slow clients: a request head and a 64 KiB body sent in small pieces with pauses, and a 1 MiB
    response read 16 KiB at a time with pauses.
Events: HUP every SOAK_HUP_EVERY seconds, one worker SIGKILLed at SOAK_KILL_AT seconds.
Every SOAK_SAMPLE_EVERY seconds the RSS and PSS (/proc/PID/smaps_rollup) of the master and of each
worker are sampled; a worker is one series by pid, so every generation after a HUP starts new series.
The report (markdown, bench/results/soak-DATE.md) gives per process the least-squares slope in MB/min
over its whole series and over its tail (the last SOAK_TAIL_MINUTES, at most the second half of the
series), the failed requests attributed to events, and the verdict lines.

Usage: soak_long.py ROOT [MINUTES=60]; settings from the environment (bench/README.md).
"""

import datetime
import http.client
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proctree  # noqa: E402  (bench/lib, next to this file)


def env_float(name, default):
    value = os.environ.get(name, "")
    return float(value) if value else default


class Failures:
    """Every failed request of the Python clients, with its time, so it can be laid against events."""

    def __init__(self):
        self.lock = threading.Lock()
        self.failures = []  # (t, role, error)
        self.counts = {}  # role -> [requests, failures]

    def ok(self, role):
        with self.lock:
            self.counts.setdefault(role, [0, 0])[0] += 1

    def fail(self, t, role, error):
        with self.lock:
            entry = self.counts.setdefault(role, [0, 0])
            entry[0] += 1
            entry[1] += 1
            self.failures.append((t, role, error))


class Soak:
    def __init__(self, root, minutes):
        self.root = root
        self.duration = minutes * 60.0
        self.workers = int(env_float("SOAK_WORKERS", 2))
        self.hup_every = env_float("SOAK_HUP_EVERY", 300)
        # By default half-way between the two HUPs around the middle of the run, away from both.
        middle = (math.floor(self.duration / 2 / self.hup_every) + 0.5) * self.hup_every if self.hup_every > 0 else self.duration / 2
        self.kill_at = env_float("SOAK_KILL_AT", middle)
        self.sample_every = env_float("SOAK_SAMPLE_EVERY", 10)
        self.tail_minutes = env_float("SOAK_TAIL_MINUTES", 30)
        self.wrk_connections = int(env_float("SOAK_WRK_CONNECTIONS", 4))
        self.wrk_delay_ms = int(env_float("SOAK_WRK_DELAY_MS", 2))
        self.wrk_chunk = env_float("SOAK_WRK_CHUNK", 30)
        self.post_clients = int(env_float("SOAK_POST_CLIENTS", 2))
        self.flask_clients = int(env_float("SOAK_FLASK_CLIENTS", 2))
        self.slow_clients = int(env_float("SOAK_SLOW_CLIENTS", 2))
        self.floor = env_float("SOAK_NOISE_FLOOR", 0.02)
        self.master_gen0 = os.environ.get("SOAK_MASTER_GEN0SIZE", "")
        self.unicorn = os.environ.get("SOAK_UNICORN") or os.path.join(root, "unicorn")
        self.out = os.environ.get("SOAK_OUT") or os.path.join(root, "bench", "results")
        self.work = subprocess.check_output(["mktemp", "-d", "/tmp/unicorn-soak-long.XXXXXX"], text=True).strip()
        self.log_path = os.path.join(self.work, "unicorn.log")
        self.master = None
        self.wrk = None
        self.stop = threading.Event()
        self.start = None
        self.events = []  # (t, kind, text)
        self.samples = []  # (t, pid, rss_kib, pss_kib)
        self.chunks = []  # (t0, t1, dict)
        self.failures = Failures()
        self.held_at_kill = 0
        self.master_cpu = None
        self.interrupted = None

    # ---- processes -------------------------------------------------------------------------

    def now(self):
        return time.monotonic() - self.start

    def start_master(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        env = dict(os.environ, UNICORN_PYTHON=os.environ.get("UNICORN_PYTHON", "/usr/bin/python3"))
        workers_env = []
        if self.master_gen0:
            # An experiment only: the master now collects once a minute itself (Arbiter.CollectGarbage).
            # The workers must still run as shipped: -e puts back the value the master gives them
            # (Arbiter.Workers.cs), after the master's GC has read its own.
            env["DOTNET_GCgen0size"] = self.master_gen0
            workers_env = ["-e", "DOTNET_GCgen0size=0x200000"]
        with open(self.log_path, "wb") as log:
            # Its own session: cleanup signals the whole group, and a Ctrl-C reaches only this driver.
            self.master = subprocess.Popen(
                [self.unicorn, "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "--timeout", "60",
                 *workers_env, "pyfixtures.soak_app:app"],
                cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.master.poll() is not None:
                break
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/flask/hello/up")
                if c.getresponse().status == 200 and len(self.worker_pids()) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        with open(self.log_path) as f:
            sys.exit("soak: the server did not start:\n" + f.read())

    def worker_pids(self):
        return [p for p in proctree.tree(self.master.pid) if p != self.master.pid and self.is_child(p)]

    def is_child(self, pid):
        try:
            return int(proctree._stat_fields(pid)[1]) == self.master.pid
        except (OSError, ValueError, IndexError):
            return False

    def cleanup(self):
        self.stop.set()
        if self.wrk is not None and self.wrk.poll() is None:
            self.wrk.terminate()
            try:
                self.wrk.wait(5)
            except subprocess.TimeoutExpired:
                self.wrk.kill()
        if self.master is None:
            return
        pids = proctree.tree(self.master.pid)
        if self.master.poll() is None:
            try:
                os.killpg(self.master.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.master.wait(45)  # graceful_timeout (30 s) and a margin
            except subprocess.TimeoutExpired:
                pass
        for pid in pids + proctree.tree(self.master.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.master.poll() is None:
            self.master.wait(5)

    # ---- load ------------------------------------------------------------------------------

    def run_wrk(self):
        script = os.path.join(self.root, "bench", "lib", "status_count.lua")
        while not self.stop.is_set():
            t0 = self.now()
            length = min(self.wrk_chunk, self.duration - t0)
            if length < 1:
                return
            self.wrk = subprocess.Popen(
                ["wrk", "-t1", f"-c{self.wrk_connections}", f"-d{int(length)}s", "--timeout", "10s", "-s", script,
                 f"http://127.0.0.1:{self.port}/", "--", str(self.wrk_delay_ms)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            output, _ = self.wrk.communicate()
            m = re.search(r"SOAK (.*)", output)
            if m is None:
                if self.stop.is_set():
                    return
                self.chunks.append((t0, self.now(), {"requests": 0, "ok": 0, "non2xx": 0, "wrk_error": 1}))
                continue
            counts = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
            self.chunks.append((t0, self.now(), counts))

    def client(self, role, body):
        """A keep-alive client; body(conn) sends one request and raises on a wrong answer."""
        conn = None
        rng = random.Random(f"{role}{threading.get_ident()}")
        while not self.stop.is_set() and self.now() < self.duration:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                body(conn, rng)
                self.failures.ok(role)
            except Exception as e:  # every failure is what this client is for: record it, reconnect
                self.failures.fail(self.now(), role, f"{type(e).__name__}: {e}")
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.1)

    @staticmethod
    def check(response, expected):
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"status {response.status}")
        if data != expected:
            raise RuntimeError(f"wrong body ({len(data)} bytes, expected {len(expected)})")

    def post(self, conn, rng):
        size = int(math.exp(rng.uniform(math.log(4096), math.log(1 << 20))))
        conn.request("POST", "/len", body=b"p" * size, headers={"Content-Type": "application/octet-stream"})
        self.check(conn.getresponse(), b"%d" % size)
        time.sleep(0.05)

    def flask(self, conn, rng):
        if rng.random() < 0.5:
            name = "n%d" % rng.randrange(1000)
            conn.request("GET", f"/flask/hello/{name}?via=soak")
            self.check(conn.getresponse(), f"Hello {name} from soak".encode())
        else:
            body = rng.randbytes(rng.randrange(1, 16384))
            conn.request("POST", "/flask/echo", body=body, headers={"Content-Type": "application/octet-stream"})
            self.check(conn.getresponse(), body)
        time.sleep(0.01)

    def slow(self, conn, rng):
        """A fresh connection each time: a slowly sent upload, then a slowly read 1 MiB response."""
        conn.close()
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
            head = (b"POST /len HTTP/1.1\r\nHost: soak\r\nX-Pad: " + b"s" * 200
                    + b"\r\nContent-Length: 65536\r\nConnection: close\r\n\r\n")
            for i in range(0, len(head), 16):
                s.sendall(head[i:i + 16])
                time.sleep(0.02)
            for _ in range(32):
                s.sendall(b"b" * 2048)
                time.sleep(0.03)
            self.expect(self.read_all(s, 0), b"65536")
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
            s.sendall(b"GET /mib HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
            self.expect(self.read_all(s, 0.02), b"x" * (1 << 20))
        time.sleep(0.5)

    @staticmethod
    def read_all(s, pause):
        chunks = []
        while True:
            data = s.recv(16384)
            if not data:
                return b"".join(chunks)
            chunks.append(data)
            if pause:
                time.sleep(pause)

    @staticmethod
    def expect(raw, body):
        head, _, got = raw.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if not status.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"status line {status[:40]!r}")
        if got != body:
            raise RuntimeError(f"wrong body ({len(got)} bytes, expected {len(body)})")

    # ---- events and samples ----------------------------------------------------------------

    def event(self, kind, text):
        t = self.now()
        self.events.append((t, kind, text))
        print(f"[soak] t={t:7.1f}s {text}", flush=True)

    def sample(self):
        t = self.now()
        for pid in [self.master.pid] + self.worker_pids():
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    fields = dict(line.split()[:2] for line in f if line.split()[0] in ("Rss:", "Pss:"))
            except (OSError, ValueError):
                continue
            self.samples.append((t, pid, int(fields["Rss:"]), int(fields["Pss:"])))

    def cpu_seconds(self, pid):
        fields = proctree._stat_fields(pid)
        return (int(fields[11]) + int(fields[12])) / proctree.CLK_TCK

    def run(self):
        self.start = time.monotonic()
        self.start_master()
        self.start = time.monotonic()  # t=0 once the server answers
        self.started_at = datetime.datetime.now()
        cpu0 = self.cpu_seconds(self.master.pid)
        self.event("start", f"master {self.master.pid}, workers {' '.join(map(str, self.worker_pids()))}")
        threads = [threading.Thread(target=self.run_wrk, daemon=True)]
        for role, count, body in (("post", self.post_clients, self.post), ("flask", self.flask_clients, self.flask),
                                  ("slow", self.slow_clients, self.slow)):
            threads += [threading.Thread(target=self.client, args=(role, body), daemon=True) for _ in range(count)]
        for t in threads:
            t.start()
        next_sample, next_hup, killed = 0.0, self.hup_every if self.hup_every > 0 else math.inf, False
        while self.now() < self.duration:
            if self.master.poll() is not None:
                self.event("exit", f"master exited with {self.master.returncode}")
                break
            t = self.now()
            if t >= next_sample:
                self.sample()
                next_sample += self.sample_every
            if t >= next_hup:
                self.event("HUP", "HUP to the master")
                os.kill(self.master.pid, signal.SIGHUP)
                next_hup += self.hup_every
            if not killed and 0 < self.kill_at <= t:
                killed = True
                victims = self.worker_pids()
                if victims:
                    victim = victims[0]
                    ss = subprocess.run(["ss", "-Htnp", "state", "established", f"( sport = :{self.port} )"],
                                        capture_output=True, text=True).stdout
                    self.held_at_kill = ss.count(f"pid={victim},")
                    self.event("SIGKILL", f"SIGKILL to worker {victim} (holding {self.held_at_kill} client connections)")
                    os.kill(victim, signal.SIGKILL)
            time.sleep(0.2)
        self.sample()
        self.master_cpu = self.cpu_seconds(self.master.pid) - cpu0 if self.master.poll() is None else None
        self.stop.set()
        for t in threads:
            t.join(60)


# ---- analysis ------------------------------------------------------------------------------


def fit(points):
    """Least-squares slope (MB per minute) and its standard error, for points (seconds, KiB)."""
    n = len(points)
    if n < 3:
        return None, None
    xs = [t / 60 for t, _ in points]
    ys = [v / 1024 for _, v in points]
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None, None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    residual = sum((y - my - slope * (x - mx)) ** 2 for x, y in zip(xs, ys))
    return slope, math.sqrt(residual / (n - 2) / sxx)


def attribute(t, events, window):
    """The event a failure at t belongs to: a SIGKILL or HUP less than window seconds before it."""
    last = None
    for at, kind, text in events:
        if at <= t and kind in ("HUP", "SIGKILL") and t - at <= window:
            last = (kind, at)
    return last


def report(soak):
    lines = []
    w = lines.append
    started = soak.started_at.strftime("%Y-%m-%d %H:%M")
    ran = max([s[0] for s in soak.samples] + [0]) / 60
    w(f"# Soak, {started}: {ran:.1f} minutes of mixed load, {soak.workers} workers")
    w("")
    if soak.interrupted:
        w(f"**Interrupted** ({soak.interrupted}) after {ran:.1f} of {soak.duration / 60:.0f} minutes.")
        w("")
    commit = subprocess.run(["git", "-C", soak.root, "log", "-1", "--format=%h %s"], capture_output=True, text=True).stdout.strip()
    w(f"Build: `{commit}`. App `pyfixtures.soak_app:app`. HUP every {soak.hup_every:.0f} s, "
      f"SIGKILL of one worker at {soak.kill_at:.0f} s, samples every {soak.sample_every:.0f} s. "
      f"Load: wrk -t1 -c{soak.wrk_connections} (pause {soak.wrk_delay_ms} ms per request) on `/`, "
      f"{soak.post_clients} POST clients (4 KiB-1 MiB), {soak.flask_clients} Flask clients, "
      f"{soak.slow_clients} slow clients. Master's `DOTNET_GCgen0size`: {soak.master_gen0 or 'as shipped (unset)'}. "
      f"Master log: `{soak.log_path}`.")
    w("")

    # Memory per process.
    series = {}
    for t, pid, rss, pss in soak.samples:
        series.setdefault(pid, []).append((t, rss, pss))
    verdicts = []
    w("## Memory per process")
    w("")
    w("Slopes in MB/min (least squares). The tail is the last "
      f"{soak.tail_minutes:.0f} minutes of a series, at most its second half (a worker lives one HUP "
      "period). A series levels off when its tail RSS slope is below the noise threshold: "
      f"twice the slope's standard error, at least {soak.floor} MB/min. PSS moves when workers come "
      "and go (shared pages are split among the processes mapping them), so the verdict uses RSS.")
    w("")
    w("| process | pid | from (min) | to (min) | samples | RSS first / last MB | RSS slope whole | RSS slope tail | PSS slope whole | PSS slope tail | threshold | levels off |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|")
    hups = [at for at, kind, _ in soak.events if kind == "HUP"]
    kills = [at for at, kind, _ in soak.events if kind == "SIGKILL"]
    for pid, points in sorted(series.items(), key=lambda kv: (kv[0] != soak.master.pid, kv[1][0][0], kv[0])):
        first, last = points[0][0], points[-1][0]
        if pid == soak.master.pid:
            name = "master"
        else:
            generation = sum(1 for h in hups if h < first)
            name = f"worker gen {generation}" + (" (respawn after SIGKILL)" if any(generation == sum(1 for h in hups if h < k) and k < first for k in kills) else "")
        tail_len = min(soak.tail_minutes * 60, (last - first) / 2)
        tail = [p for p in points if p[0] >= last - tail_len]
        rss_whole, _ = fit([(t, r) for t, r, _ in points])
        pss_whole, _ = fit([(t, p) for t, _, p in points])
        rss_tail, rss_se = fit([(t, r) for t, r, _ in tail])
        pss_tail, _ = fit([(t, p) for t, _, p in tail])
        threshold = max(soak.floor, 2 * rss_se) if rss_se is not None else None
        levels = "n/a (too few samples)" if rss_tail is None else ("yes" if rss_tail < threshold else "no")

        def f(x):
            return "-" if x is None else f"{x:+.3f}"
        w(f"| {name} | {pid} | {first / 60:.1f} | {last / 60:.1f} | {len(points)} | {points[0][1] / 1024:.1f} / {points[-1][1] / 1024:.1f} "
          f"| {f(rss_whole)} | {f(rss_tail)} | {f(pss_whole)} | {f(pss_tail)} | {'-' if threshold is None else f'{threshold:.3f}'} | {levels} |")
        if rss_tail is not None:
            verdicts.append(f"{name} {pid} levels off: {levels} (slope over last {tail_len / 60:.1f} min "
                            f"{rss_tail:+.3f} MB/min, noise threshold {threshold:.3f})")
    # Across generations: a worker lives one HUP period, so a leak shows best as each generation
    # ending higher than the one before (the SIGKILLed worker and its respawn are left out: shorter lives).
    ends = {}
    for pid, points in series.items():
        respawn = any(k < points[0][0] and sum(1 for h in hups if h < k) == sum(1 for h in hups if h < points[0][0]) for k in kills)
        victim = any(points[-1][0] <= k < points[-1][0] + 2 * soak.sample_every for k in kills)
        if pid == soak.master.pid or respawn or victim:
            continue
        generation = sum(1 for h in hups if h < points[0][0])
        ends.setdefault(generation, []).append((points[0][0], points[-1][1]))
    if len(ends) >= 3:
        w("")
        w("End-of-life RSS per worker generation (MB): " + ", ".join(
            f"gen {g} " + "/".join(f"{v / 1024:.1f}" for _, v in sorted(ends[g])) for g in sorted(ends)) + ".")
        starts = {g: min(t for t, _ in ends[g]) for g in ends}
        last = max(sample[0] for sample in soak.samples)
        tail_gens = [g for g in sorted(ends) if starts[g] >= last - soak.tail_minutes * 60] or sorted(ends)
        if len(tail_gens) < 3:
            tail_gens = sorted(ends)[-3:]
        # slope in MB per generation: x in "minutes" of 1 per generation, so fit() gives MB/generation.
        gen_slope, gen_se = fit([(g * 60, sum(v for _, v in ends[g]) / len(ends[g])) for g in tail_gens])
        if gen_slope is not None:
            gen_threshold = max(soak.floor * soak.hup_every / 60, 2 * gen_se)
            verdicts.append(f"workers across generations level off: {'yes' if gen_slope < gen_threshold else 'no'} "
                            f"(mean end-of-life RSS over generations {tail_gens[0]}-{tail_gens[-1]} "
                            f"{gen_slope:+.3f} MB/generation, noise threshold {gen_threshold:.3f})")
    if soak.master_cpu is not None:
        w("")
        w(f"Master CPU time over the run: {soak.master_cpu:.2f} s ({soak.master_cpu / max(ran, 1e-9):.3f} s/min).")
    w("")

    # Failures.
    window = 35  # graceful_timeout (30 s) and a margin: a stop's effects end by then
    outside_kill, rows = 0, []
    total_requests = sum(c.get("requests", 0) for _, _, c in soak.chunks)
    wrk_failed = 0
    for t0, t1, c in soak.chunks:
        failed = sum(c.get(k, 0) for k in ("non2xx", "connect", "read", "write", "timeout", "wrk_error"))
        wrk_failed += failed
        if not failed:
            continue
        inside = [(kind, at) for at, kind, _ in soak.events if kind in ("HUP", "SIGKILL") and t0 - 5 <= at <= t1]
        kinds = {k for k, _ in inside}
        cause = "SIGKILL" if "SIGKILL" in kinds else "HUP" if kinds else "no event"
        if cause != "SIGKILL":
            outside_kill += failed
        detail = ", ".join(f"{k} {c.get(k, 0)}" for k in ("non2xx", "connect", "read", "write", "timeout", "wrk_error") if c.get(k, 0))
        rows.append(f"| wrk chunk {t0:.0f}-{t1:.0f} s | {failed} ({detail}) | {cause} |")
    for t, role, error in sorted(soak.failures.failures):
        owner = attribute(t, soak.events, window)
        cause = "no event" if owner is None else f"{owner[0]} at {owner[1]:.0f} s"
        if owner is None or owner[0] != "SIGKILL":
            outside_kill += 1
        rows.append(f"| {role} client at {t:.1f} s | 1 ({error}) | {cause} |")
    client_requests = sum(v[0] for v in soak.failures.counts.values())
    client_failed = sum(v[1] for v in soak.failures.counts.values())
    w("## Requests and failures")
    w("")
    w(f"wrk: {total_requests:,} requests in {len(soak.chunks)} chunks, {wrk_failed} failed (socket errors + non-2xx). "
      + "Python clients: " + ", ".join(f"{role} {v[0]:,} requests, {v[1]} failed" for role, v in sorted(soak.failures.counts.items())) + ".")
    w("")
    w(f"A failure belongs to a SIGKILL or HUP sent less than {window} s before it (Python clients, which log "
      "the time), or in or just before its wrk chunk (wrk only counts). The SIGKILLed worker held "
      f"{soak.held_at_kill} client connections: one request in flight on each is what its death may cost.")
    w("")
    if rows:
        w("| where | failed | event |")
        w("|---|---|---|")
        lines.extend(rows)
        w("")
    w("## Events")
    w("")
    for at, kind, text in soak.events:
        w(f"- {at:.1f} s: {text}")
    try:
        with open(soak.log_path, errors="replace") as f:
            notable = [line.rstrip() for line in f if re.search(r"WORKER TIMEOUT|ERROR|CRITICAL|Traceback|was sent|exited with code", line)]
    except OSError:
        notable = []
    if notable:
        w("")
        w("Notable master log lines:")
        w("")
        w("```")
        lines.extend(notable[:50])
        w("```")
    w("")
    w("## Verdict")
    w("")
    w("```")
    lines.extend(verdicts)
    w(f"failed requests outside a SIGKILL: {outside_kill}")
    w(f"failed requests in all: {wrk_failed + client_failed} of {total_requests + client_requests:,}")
    w("```")
    return "\n".join(lines) + "\n", verdicts, outside_kill


def main():
    root = sys.argv[1]
    minutes = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    for tool in ("wrk", "ss"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            sys.exit(f"soak: {tool} is not installed (apt-get install {'wrk' if tool == 'wrk' else 'iproute2'})")
    soak = Soak(root, minutes)

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    print(f"[soak] {minutes:g} minutes; work directory {soak.work}", flush=True)
    try:
        soak.run()
    except KeyboardInterrupt as e:
        soak.interrupted = str(e) or "SIGINT"
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        soak.cleanup()
    if soak.start is None or not soak.samples:
        sys.exit("soak: interrupted before the first sample; nothing to report")
    text, verdicts, outside = report(soak)
    os.makedirs(soak.out, exist_ok=True)
    path = os.path.join(soak.out, "soak-" + soak.started_at.strftime("%Y-%m-%d-%H%M") + ".md")
    with open(path, "w") as f:
        f.write(text)
    print(text[text.index("## Verdict"):])
    print(f"[soak] report: {path}")


if __name__ == "__main__":
    main()
