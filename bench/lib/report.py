"""Turns one bench/run work directory (meta, servers.tsv, raw.tsv) into the markdown report."""

import statistics
import sys
from collections import defaultdict

SCENARIOS = {
    "hello": "hello world: GET, 14-byte `Hello, world!\\n` response",
    "hellolog": "hello world with the access log on: every server writes Gunicorn's default access log format to a file",
    "post64k": "POST of a 64 KiB body; the app reads it and answers its length",
    "get1m": "GET of a 1 MiB response",
    "stream": "GET of a 1 MiB response streamed as 64 items of 16 KiB (chunked, a flush per item)",
    "sleep50": "app sleeps 50 ms per request (`time.sleep`)",
    "sleep50c1k": "app sleeps 50 ms per request (`time.sleep`), 1,000 connections: the load greenlet workers are for",
    "upstream20": "app makes one `urllib` call per request to a local service that answers in 20 ms",
    "close": "hello world with `Connection: close` on every request: a new connection per request",
    "nginx": "hello world behind nginx's default `proxy_pass` (HTTP/1.0 upstream, a new upstream connection per "
             "request); wrk keeps its connections to nginx",
    "nginx-keepalive": "hello world behind nginx with kept-alive upstream connections (`keepalive 32`, "
                       "`proxy_http_version 1.1`)",
    "django": "a Django view rendering a short HTML page from a template, through startproject's default middleware",
    "flaskjson": "a Flask view answering `jsonify` of a small dict",
    "asgi-hello": "ASGI hello world (raw ASGI app, 14-byte response)",
    "asgi-json": "ASGI app answering a small JSON document serialised per request",
    "asgi-stream": "ASGI 1 MiB response sent as 64 `http.response.body` events of 16 KiB (chunked)",
    "asgi-ws": "websocket echo: 32-byte text messages, one in flight per connection; req/s is messages/s "
               "(load from bench/wsload, a .NET websocket client, not wrk)",
}
# Scenarios where wrk talks to an nginx in front of each server; its CPU is reported apart from the server's.
PROXIED = ("nginx", "nginx-keepalive")


def read_meta(work):
    meta = {}
    with open(f"{work}/meta") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            meta[key] = value
    return meta


def read_servers(work):
    servers = defaultdict(dict)  # scenario -> server -> info
    with open(f"{work}/servers.tsv") as f:
        for line in f:
            scenario, server, cmd, note, pss, rss, nprocs, status = line.rstrip("\n").split("\t")
            servers[scenario][server] = {
                "cmd": cmd, "note": note, "status": status,
                "pss_mib": int(pss) / 1024 if pss != "-" else None,
                "procs": nprocs,
            }
    return servers


def read_pss_end(work):
    end = {}
    with open(f"{work}/pss-end.tsv") as f:
        for line in f:
            scenario, server, pss = line.rstrip("\n").split("\t")
            end[(scenario, server)] = int(pss) / 1024 if pss.isdigit() and int(pss) else None
    return end


def read_runs(work):
    runs = defaultdict(list)  # (scenario, server) -> [run]
    with open(f"{work}/raw.tsv") as f:
        for line in f:
            scenario, server, rnd, fields, cpu, *extra = line.rstrip("\n").split("\t")
            run = {k: int(v) for k, v in (kv.split("=") for kv in fields.split())}
            run["round"] = int(rnd)
            run["cpu_s"] = float(cpu.split("=")[1])
            columns = dict(kv.split("=", 1) for kv in extra)
            # A proxied run also has proxy_cpu_s=: the nginx tree's CPU seconds, never added to cpu_s.
            run["proxy_cpu_s"] = float(columns["proxy_cpu_s"]) if "proxy_cpu_s" in columns else None
            # client_cpu_s=: the load generator's own CPU seconds (older raw.tsv files have none).
            run["client_cpu_s"] = float(columns["client_cpu_s"]) if "client_cpu_s" in columns else None
            seconds = run["duration_us"] / 1e6
            run["rps"] = run["requests"] / seconds if seconds else 0.0
            run["p99_ms"] = run["p99_us"] / 1000
            run["cpu_us_per_req"] = run["cpu_s"] * 1e6 / run["requests"] if run["requests"] else float("inf")
            if run["client_cpu_s"] is not None:
                run["client_us_per_req"] = run["client_cpu_s"] * 1e6 / run["requests"] if run["requests"] else float("inf")
            if run["proxy_cpu_s"] is not None:
                run["proxy_us_per_req"] = run["proxy_cpu_s"] * 1e6 / run["requests"] if run["requests"] else float("inf")
            runs[(scenario, server)].append(run)
    return runs


def flags(cmd):
    """`/path/unicorn -w 2 -k sync -b 127.0.0.1:1234 pyfixtures.x:app --access-logfile /tmp/a.log`
    -> `unicorn -w 2 -k sync --access-logfile FILE`."""
    words = cmd.split()
    if words and words[0].endswith("/nginx"):
        return "nginx (peer, see bench/README.md)"
    name = "unicorn"
    for i, w in enumerate(words):
        if w.endswith("unicorn") and not w.endswith("gunicorn"):
            words = words[i + 1:]
            break
        if w in ("gunicorn", "hypercorn"):
            name, words = w, words[i + 1:]
            break
    kept, skip = [], False
    for w in words:
        if skip:
            skip = False
        elif w == "-b":
            skip = True
        elif w.startswith("pyfixtures."):  # the app
            continue
        elif kept and kept[-1] == "--access-logfile":
            kept.append("FILE")  # a path in the run's temporary directory
        else:
            kept.append(w)
    return " ".join([name] + kept)


def summarise(runs):
    med = lambda key: statistics.median(r[key] for r in runs)
    return {
        "rps": med("rps"), "p99_ms": med("p99_ms"), "cpu_us_per_req": med("cpu_us_per_req"),
        "errors": sum(r["errors"] for r in runs), "requests": sum(r["requests"] for r in runs),
        "proxy_us_per_req": med("proxy_us_per_req") if all("proxy_us_per_req" in r for r in runs) else None,
        "client_us_per_req": med("client_us_per_req") if all("client_us_per_req" in r for r in runs) else None,
    }


def fmt(x, digits=0):
    return "-" if x is None else f"{x:,.{digits}f}"


def best(rows, key, pick):
    candidates = [(s, r[key]) for s, r in rows.items() if s.startswith("gunicorn") and r.get(key) is not None]
    return pick(candidates, key=lambda c: c[1]) if candidates else None


def ab_rows(servers, runs):
    """(scenario, worker class, req/s, CPU/req, p99 ratios) of unicorn-X over base-X, where both ran."""
    rows = []
    for scenario in SCENARIOS:
        for kind in ("sync", "gthread", "asgi", "gevent"):
            a, b = runs.get((scenario, f"unicorn-{kind}")), runs.get((scenario, f"base-{kind}"))
            if not a or not b or scenario not in servers:
                continue
            sa, sb = summarise(a), summarise(b)
            if sb["rps"] and sb["cpu_us_per_req"] and sb["p99_ms"]:
                rows.append((scenario, kind, sa["rps"] / sb["rps"], sa["cpu_us_per_req"] / sb["cpu_us_per_req"],
                             sa["p99_ms"] / sb["p99_ms"]))
    return rows


def main(work):
    meta = read_meta(work)
    servers = read_servers(work)
    runs = read_runs(work)
    pss_end = read_pss_end(work)
    out = []
    w = out.append
    w(f"# Unicorn vs Gunicorn, {meta['date']}")
    w("")
    nginx = f", nginx {meta['nginx']}" if "nginx" in meta else ""
    asgi = f"; ASGI: {meta['asgi']}" if "asgi" in meta else ""
    w(f"Unicorn commit `{meta['commit']}`; Python {meta['python']}, Gunicorn {meta['gunicorn']}, gevent {meta['gevent']}{nginx}{asgi}.")
    w(f"Machine: {meta['cpus']}, shared with other work; load average before {meta['load_before']}, "
      f"after {meta.get('load_after', '?')}. {meta['wrk']} runs on the same 2 cores as the servers, so every "
      "server competes with the load generator: absolute numbers are low, ratios are what to read.")
    w(f"Each server: {meta['warmup']} s warm-up, then {meta['rounds']} round(s) of {meta['duration']} s, servers alternating "
      "within each round; the table shows the median round. CPU µs/req is utime+stime of the server's whole process "
      "tree during the run divided by the requests served (steadier than req/s on a shared machine); under each table, "
      "the load generator's own CPU µs/req (wrk's utime+stime), which shares the cores: server + client CPU per "
      "request bounds req/s at the cores' CPU seconds divided by it. PSS is the "
      "whole tree (master + workers) from /proc/PID/smaps_rollup after warm-up (and, after the slash, after the last "
      "round). Errors are wrk's "
      "connect/read/write/timeout/non-2xx counts summed over all rounds.")
    if any(scenario in servers for scenario in PROXIED):
        w("In the nginx scenarios wrk talks to an nginx started with each server (the same config for every server, "
          "one nginx worker process, no access log); the CPU µs/req column is still the server's tree only, and "
          "nginx's own CPU µs/req is listed under the table.")
    w("")

    summary = []
    for scenario, title in SCENARIOS.items():
        if scenario not in servers:
            continue
        rows = {}
        w(f"## {scenario}: {title}")
        w("")
        w("| server | req/s | p99 ms | CPU µs/req | PSS MiB warm / end | procs | errors | notes |")
        w("|---|---:|---:|---:|---:|---:|---:|---|")
        for server, info in servers[scenario].items():
            label = f"`{flags(info['cmd'])}`" + (" (base build)" if server.startswith("base-") else "")
            if info["status"] != "ok":
                w(f"| {label} | - | - | - | - | - | - | {info['status']} |")
                continue
            r = runs.get((scenario, server))
            if not r:
                w(f"| {label} | - | - | - | {fmt(info['pss_mib'], 1)} | {info['procs']} | - | no completed run |")
                continue
            s = summarise(r)
            s["pss_mib"] = info["pss_mib"]
            rows[server] = s
            notes = info["note"]
            if len(r) < int(meta["rounds"]):
                notes = (notes + "; " if notes else "") + f"{len(r)} of {meta['rounds']} rounds completed"
            w(f"| {label} | {fmt(s['rps'])} | {fmt(s['p99_ms'], 1)} | {fmt(s['cpu_us_per_req'])} | "
              f"{fmt(s['pss_mib'], 1)} / {fmt(pss_end.get((scenario, server)), 1)} | {info['procs']} | {s['errors']} | {notes} |")
        w("")
        bests = {
            "rps": best(rows, "rps", max), "p99_ms": best(rows, "p99_ms", min),
            "cpu_us_per_req": best(rows, "cpu_us_per_req", min), "pss_mib": best(rows, "pss_mib", min),
        }
        for server, s in rows.items():
            if not server.startswith("unicorn"):
                continue
            parts = []
            for key, name in (("rps", "req/s"), ("p99_ms", "p99"), ("cpu_us_per_req", "CPU/req"), ("pss_mib", "PSS")):
                b = bests[key]
                if b and b[1]:
                    parts.append(f"{name} **{s[key] / b[1]:.2f}×** (vs {b[0]})")
            if parts:
                w(f"- `{server}` / best Gunicorn: " + ", ".join(parts))
            if bests["rps"] and bests["rps"][1]:
                summary.append((scenario, server, s["rps"] / bests["rps"][1], bests["rps"][0],
                                s["pss_mib"] / bests["pss_mib"][1] if bests["pss_mib"] else None))
        peer = rows.get("nginx-peer")
        if peer and peer["rps"] and peer["cpu_us_per_req"]:
            ratios = [f"`{server}` req/s **{s['rps'] / peer['rps']:.2f}×**, CPU/req {s['cpu_us_per_req'] / peer['cpu_us_per_req']:.2f}×"
                      for server, s in rows.items() if server.startswith("unicorn")]
            if ratios:
                w("- Unicorn / nginx serving the same bytes itself (nginx-peer): " + ", ".join(ratios))
        clients = [(server, s) for server, s in rows.items() if s.get("client_us_per_req") is not None]
        if clients:
            w("- the load generator's own CPU µs/req on the same cores (server + client in brackets): " + ", ".join(
                f"`{server}` {fmt(s['client_us_per_req'])} ({fmt(s['cpu_us_per_req'] + s['client_us_per_req'])})"
                for server, s in clients))
        proxied = [(server, s) for server, s in rows.items() if s["proxy_us_per_req"] is not None]
        if proxied:
            w("- nginx's own CPU µs/req (not in the column above; server + nginx in brackets): " + ", ".join(
                f"`{server}` {fmt(s['proxy_us_per_req'])} ({fmt(s['cpu_us_per_req'] + s['proxy_us_per_req'])})"
                for server, s in proxied))
        w("")

    if summary:
        w("## Summary: Unicorn / best Gunicorn")
        w("")
        w("| scenario | Unicorn server | req/s ratio | best Gunicorn by req/s | PSS ratio |")
        w("|---|---|---:|---|---:|")
        for scenario, server, ratio, vs, pss in summary:
            w(f"| {scenario} | {server} | {ratio:.2f}× | {vs} | {'-' if pss is None else f'{pss:.2f}×'} |")
        w("")

    ab = ab_rows(servers, runs)
    if ab:
        w(f"## A/B: this build (`{meta['commit']}`) / base build (`{meta.get('base_commit', '?')}`)")
        w("")
        w("Ratios of medians; req/s above 1 and CPU/req below 1 favour this build.")
        w("")
        w("| scenario | worker class | req/s ratio | CPU/req ratio | p99 ratio |")
        w("|---|---|---:|---:|---:|")
        for scenario, kind, rps, cpu, p99 in ab:
            w(f"| {scenario} | {kind} | {rps:.3f}× | {cpu:.3f}× | {p99:.2f}× |")
        w("")

    w("<details><summary>Every round</summary>")
    w("")
    w("| scenario | server | round | requests | req/s | p50 ms | p99 ms | CPU s | CPU µs/req | errors (timeouts, non-2xx) |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for (scenario, server), rs in runs.items():
        for r in rs:
            w(f"| {scenario} | {server} | {r['round']} | {r['requests']} | {fmt(r['rps'])} | {r['p50_us'] / 1000:.1f} | "
              f"{r['p99_ms']:.1f} | {r['cpu_s']:.2f} | {fmt(r['cpu_us_per_req'])} | "
              f"{r['errors']} ({r['timeouts']}, {r['status_errors']}) |")
    w("")
    w("</details>")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
