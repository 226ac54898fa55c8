#!/usr/bin/python3
"""HTTP throughput and latency of the wasmforge server (make bench-http).

Starts the real server over SQLite and over PostgreSQL (a throwaway cluster,
or the one WF_TEST_PG_URL names), stores 1,000 plugins, and runs
`wrk -t1 -c64 -d10s --latency` on GET /health and GET /api/plugins/list.
On this 2-core machine the server (HTTP_THREADS defaults to half the cores)
and wrk get a core each: a second wrk thread would only compete with the
server for the same two cores and measure the scheduler, not the server.
Prints req/s, p50, p99, the command that reproduces each figure, and ratios
against our targets and against the original's figures measured on this
kind of machine (FastAPI + uvicorn with uvloop, 2 workers).

Options: --duration S, --connections N, --plugins N, --only sqlite|postgresql.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from support import pg  # noqa: E402
from support.server import Server, pg_create_database, pg_drop_database  # noqa: E402

TARGETS = {"/health": (60000, None), "/api/plugins/list": (5000, 20.0)}   # req/s, p99 ms
ORIGINAL = {"/health": 28000, "/api/plugins/list": 150}                    # req/s

PLUGIN = '''"""Benchmark plugin {i}: summarises its input with a model."""
from platform_sdk import call_ai, get_input, send_output

text = get_input()
prompt = "Summarize in three bullet points:\\n" + text
send_output(call_ai("mistral:latest", prompt))
'''


def wrk(url, threads, conns, duration):
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        lat[pct] = v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockerr = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": lat["50"], "p99": lat["99"], "cmd": " ".join(cmd),
            "non2xx": int(errors.group(1)) if errors else 0,
            "sockerr": sockerr.group(1) if sockerr else "", "raw": out}


def fill(server, n):
    """Upload n plugins through the API; returns how many uploads had to be retried."""
    retried = 0
    for i in range(n):
        for attempt in range(5):
            r = server.upload(f"bench_plugin_{i:04d}", PLUGIN.format(i=i),
                              description=f"Benchmark plugin number {i}", input_hint="Some text")
            if r.status != 503:
                break
            retried += 1
            time.sleep(0.2 * (attempt + 1))
        if r.status != 200:
            raise SystemExit(f"upload {i} failed: {r.status} {r.text[:300]}\n"
                             f"server log (end):\n{server.log()[-3000:]}")
    return retried


def bench_store(store, args, results):
    env = {"LOG_LEVEL": "info"}
    cluster = db = None
    if store == "postgresql":
        if not os.environ.get("WF_TEST_PG_URL"):
            cluster = tempfile.mkdtemp(prefix="wf-bench-pg-")
            os.environ["WF_TEST_PG_URL"] = pg.start(cluster)
        db, env["DATABASE_URL"] = pg_create_database("wf_bench")
    server = Server(env=env)
    try:
        server.start()
        t0 = time.monotonic()
        retried = fill(server, args.plugins)
        print(f"[{store}] stored {args.plugins} plugins in {time.monotonic() - t0:.1f}s"
              + (f" ({retried} uploads answered 503 and were retried)" if retried else ""),
              flush=True)
        listing = server.get(f"/api/plugins/list?limit={args.plugins}")
        rows = len(listing.json) if listing.status == 200 else 0
        for path in ("/health", f"/api/plugins/list?limit={args.plugins}"):
            load = os.getloadavg()[0]
            r = wrk(server.url + path, args.threads, args.connections, args.duration)
            r.update(store=store, path=path.split("?")[0], rows=rows, bytes=len(listing.body),
                     load=load)
            results.append(r)
            print(f"[{store}] {path}: {r['rps']:.0f} req/s, p50 {r['p50']:.2f} ms, "
                  f"p99 {r['p99']:.2f} ms, non-2xx {r['non2xx']}", flush=True)
        server.stop()
    finally:
        server.cleanup()
        if db:
            pg_drop_database(db)
        if cluster:
            pg.destroy(cluster)
            del os.environ["WF_TEST_PG_URL"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--plugins", type=int, default=1000)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    results = []
    for store in ("sqlite", "postgresql"):
        if args.only in (None, store):
            bench_store(store, args, results)

    print(f"\nwasmforge HTTP benchmark ({os.cpu_count()} cores shared by server and wrk; "
          f"{args.plugins} plugins stored; LOG_LEVEL=info)")
    print(f"{'store':<11} {'endpoint':<18} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'vs target':>10} {'vs original':>12}  {'load':>5}  p99 target")
    for r in results:
        target, p99_target = TARGETS[r["path"]]
        p99_note = "-" if p99_target is None else (
            f"< {p99_target:g} ms: {'met' if r['p99'] < p99_target else 'MISSED'}")
        print(f"{r['store']:<11} {r['path']:<18} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
              f"{r['rps'] / target:>9.2f}x {r['rps'] / ORIGINAL[r['path']]:>11.1f}x  "
              f"{r['load']:>5.1f}  {p99_note}")
    print("load: the 1-minute load average when wrk started; other work on the machine "
          "lowers every figure")
    print("\ntargets: /health 60,000 req/s; list 5,000 req/s with p99 < 20 ms. "
          "original: ~28,000 req/s on /health, ~150 on the list of 1,000 plugins.")
    for r in results:
        extra = f" ({r['rows']} rows, {r['bytes']} bytes per answer)" if r["path"] != "/health" else ""
        bad = f"; {r['non2xx']} non-2xx answers" if r["non2xx"] else ""
        bad += f"; socket errors: {r['sockerr']}" if r["sockerr"] else ""
        print(f"  {r['store']} {r['path']}{extra}{bad}:\n    {r['cmd']}")
    print("  (the port is chosen per run; `make bench-http` repeats the whole benchmark)")
    failed = [r for r in results if r["non2xx"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
