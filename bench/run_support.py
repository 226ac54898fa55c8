"""What the run benchmarks (bench/zygote_bench.py, bench/run_cost.py,
bench/run_bench.py) share: the plugins they run, starting the real server
with a sandbox, finding its zygotes and runs, sequential trivial runs over
HTTP, and the bare `/usr/bin/python3 -c pass` start they are compared with.

A failed run ends the benchmark with a non-zero exit (fail()): a figure
measured over failing runs would measure the failure."""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from proc_stats import cpu_s, faults, pct, processes  # noqa: E402
from support.server import Server  # noqa: E402

TRIVIAL = "from platform_sdk import send_output\nsend_output('ok')\n"
WAITER = ("from platform_sdk import call_ai, send_output\n"
          "send_output(call_ai('mistral:latest', 'hello'))\n")


def say(msg=""):
    print(msg, flush=True)


def fail(msg):
    """Ends the benchmark: a run failed or the server is not what we asked."""
    raise SystemExit(f"benchmark failed: {msg}")


def _is_python_zygote(pid):
    """The native zygote: a python3 whose -c program is src/engine/zygote.py
    (its first line), idle between runs and so without children then."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return any(a.startswith(b"# zygote.py") for a in f.read().split(b"\0"))
    except OSError:
        return False


def zygotes(server_pid):
    """The server's long-lived children: the WebAssembly engine's zygote
    (wf-engine) and the native sandbox's zygote (a python3 started once),
    each the parent of its runs."""
    procs = processes()
    kids = [p for p, (comm, pp) in procs.items() if pp == server_pid]
    parents = {pp for _, pp in procs.values()}
    return [p for p in kids if procs[p][0] == "wf-engine" or p in parents or _is_python_zygote(p)]


def engine_zygotes(server_pid):
    return [p for p, (comm, pp) in processes().items() if comm == "wf-engine" and pp == server_pid]


def run_pids(server_pid):
    """The server's sandbox processes, one per run: the zygotes' children,
    or the server's own children where the native sandbox starts a process
    per run. Other servers' are not counted. (Called while runs wait: then
    only a zygote has children.)"""
    procs = processes()
    zyg = set(zygotes(server_pid))
    return [p for p, (comm, pp) in procs.items()
            if pp in zyg or (pp == server_pid and p not in zyg)]


def start_server(sandbox, double_url, extra=None):
    env = {"SANDBOX": sandbox, "OLLAMA_BASE_URL": double_url,
           "MAX_CONCURRENT_RUNS": "64", "HTTP_MAX_CONNECTIONS_PER_IP": "0", "ALLOWED_MODELS": "mistral:latest",
           "MAX_EXECUTION_TIME": "120"}
    env.update(extra or {})
    s = Server(env=env)
    s.start()
    h = s.get("/health")
    if h.status == 501 or "not built" in h.text:
        raise SystemExit("the HTTP server is not built in this tree; nothing to measure")
    if h.json.get("sandbox") != sandbox:
        raise SystemExit(f"the server did not start the {sandbox} sandbox: {h.text}")
    return s


def run_ok(r):
    return r.status == 200 and bool(r.json) and r.json.get("success") is True


def upload(server, name, code):
    r = server.upload(name, code)
    if r.status != 200:
        fail(f"uploading {name}: {r.status} {r.text[:300]}")


def settle(server_pid, timeout=10.0):
    """Waits until no run of this server is alive, so that every child
    has been reaped (its faults and CPU are then in its parent's c*
    fields). The zygotes reap off the answer's path: a run is answered
    before its process is gone."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not run_pids(server_pid):
            return
        time.sleep(0.01)
    fail(f"runs still alive {timeout:.0f} s after their answers")


def _fault_totals(server_pid, zyg):
    """Minor and major faults: the runs' (reaped children of the zygotes,
    or of the server where it starts a process per run), the zygotes'
    own, the server's own."""
    s = faults(server_pid)
    z = [faults(p) for p in zyg]
    return {"child_min": sum(f[1] for f in z) + s[1], "child_maj": sum(f[3] for f in z) + s[3],
            "zygote_min": sum(f[0] for f in z), "zygote_maj": sum(f[2] for f in z),
            "server_min": s[0], "server_maj": s[2]}


def sequential(server, n):
    """n trivial runs over HTTP, one after another (after 20 to warm up).
    Returns p50, p99 (ms), runs/s, CPU per run (ms, server and sandbox)
    and faults per run (_fault_totals' keys, over n)."""
    upload(server, "bench_trivial", TRIVIAL)
    for _ in range(20):  # warm-up
        r = server.run("bench_trivial", "")
        if not run_ok(r):
            fail(f"a trivial run failed: {r.status} {r.text[:300]}")
    pid = server.proc.pid
    settle(pid)
    zyg = zygotes(pid)
    lat = []
    # A zygote's reaped runs count in its own children's CPU; the zygote is
    # never reaped while the server runs, so every child of the server (the
    # zygotes, idle between runs) is read directly.
    procs = [pid] + [p for p, (_, pp) in processes().items() if pp == pid]
    c0 = sum(cpu_s(p) for p in procs)
    f0 = _fault_totals(pid, zyg)
    t0 = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        r = server.run("bench_trivial", "")
        lat.append((time.perf_counter() - t) * 1000)
        if not run_ok(r):
            fail(f"a trivial run failed: {r.status} {r.text[:300]}")
    wall = time.perf_counter() - t0
    settle(pid)
    cpu_ms = (sum(cpu_s(p) for p in procs) - c0) * 1000 / n
    f1 = _fault_totals(pid, zyg)
    if set(zyg) != set(zygotes(pid)):
        fail("a zygote was replaced during the runs: its counters are lost")
    return {"p50": pct(lat, 50), "p99": pct(lat, 99), "rps": n / wall, "cpu_ms": cpu_ms,
            "faults": {k: (f1[k] - f0[k]) / n for k in f0}}


def bare_python(n):
    """Start-up times (ms) of n bare `/usr/bin/python3 -c pass`, the floor
    of any process-per-run sandbox."""
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(["/usr/bin/python3", "-c", "pass"], check=True)
        lat.append((time.perf_counter() - t) * 1000)
    return lat
