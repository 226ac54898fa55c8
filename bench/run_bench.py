#!/usr/bin/python3
"""Benchmarks of plugin runs, printed as ratios against baselines measured
in the same run (make bench-runs). Uses the real server (build/, or
WF_BUILD), the sandbox named by WF_TEST_SANDBOX (native by default) and the
Ollama double.

  (a) latency of a trivial plugin run over HTTP, p50 and p99, against
      starting `/usr/bin/python3 -c pass` as a bare subprocess;
  (b) 500 runs started together, each making 3 AI calls to a double that
      answers after 1 s: all must finish within 5 s;
  (c) memory per run while those 500 wait on their AI calls, against the
      memory of a bare python3 process.
"""
import concurrent.futures
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from proc_stats import pct, processes, pss_kb, rss_kb  # noqa: E402
from run_support import bare_python  # noqa: E402
from support.ollama_double import OllamaDouble  # noqa: E402
from support.server import Server  # noqa: E402

SANDBOX = os.environ.get("WF_TEST_SANDBOX", "native")
N_LAT = int(os.environ.get("BENCH_LATENCY_RUNS", "200"))
N_AI = int(os.environ.get("BENCH_AI_RUNS", "500"))


def process_tree():
    """{ppid: [pid, ...]} for every process, read in one pass."""
    tree = {}
    for pid, (_, ppid) in processes().items():
        tree.setdefault(ppid, []).append(pid)
    return tree


def descendants(pid):
    """Every process below pid (native runs are children of the server,
    WebAssembly runs children of its zygote) and which of them are runs
    (the leaves: a zygote has children)."""
    tree = process_tree()
    out, todo = [], [pid]
    while todo:
        kids = tree.get(todo.pop(), [])
        out += kids
        todo += kids
    return out, [k for k in out if k not in tree]


def bare_python_memory():
    p = subprocess.Popen(["/usr/bin/python3", "-c", "import sys; sys.stdin.read()"],
                         stdin=subprocess.PIPE)
    time.sleep(0.5)
    r, s = rss_kb(p.pid), pss_kb(p.pid)
    p.stdin.close()
    p.wait()
    return r, s


def main():
    double = OllamaDouble()
    url = double.start()
    env = {"SANDBOX": SANDBOX, "OLLAMA_BASE_URL": url, "ALLOWED_MODELS": "mistral:latest",
           "MAX_CONCURRENT_RUNS": str(max(N_AI, 64)), "HTTP_MAX_CONNECTIONS_PER_IP": "0", "LOG_LEVEL": "info",
           "MAX_EXECUTION_TIME": "60"}
    srv = Server(env=env).start()
    try:
        assert srv.upload("trivial", "pass\n").status == 200
        ai = ("from platform_sdk import call_ai\n"
              "for i in range(3):\n"
              "    r = call_ai('mistral:latest', 'q%d' % i)\n"
              "    assert r.startswith('echo:'), r\n"
              "print('done')\n")
        assert srv.upload("three_calls", ai).status == 200

        # (a) latency
        for _ in range(10):
            srv.run("trivial")
        lat = []
        for _ in range(N_LAT):
            t0 = time.perf_counter()
            r = srv.run("trivial")
            lat.append((time.perf_counter() - t0) * 1000)
            assert r.status == 200 and r.json["success"], r
        base = bare_python(N_LAT)
        print(f"(a) trivial run over HTTP ({SANDBOX} sandbox), {N_LAT} runs one after another:")
        print(f"    run      p50 {pct(lat, 50):7.1f} ms   p99 {pct(lat, 99):7.1f} ms")
        print(f"    python3 -c pass  p50 {pct(base, 50):7.1f} ms   p99 {pct(base, 99):7.1f} ms")
        print(f"    ratio    p50 {pct(lat, 50) / pct(base, 50):5.2f}x       "
              f"p99 {pct(lat, 99) / pct(base, 99):5.2f}x")

        # (b) + (c): many runs waiting on slow AI answers
        double.configure(delay=1.0)
        server_rss0 = rss_kb(srv.proc.pid)
        sample = {}
        go = threading.Event()

        def one(_):
            go.wait()
            t0 = time.perf_counter()
            r = srv.run("three_calls", timeout=120)
            return time.perf_counter() - t0, r

        def sampler():
            go.wait()
            time.sleep(2.0)  # every run is inside its AI calls by now
            kids, runs = descendants(srv.proc.pid)
            sample["n"] = len(kids)
            sample["runs"] = len(runs)
            sample["rss"] = sum(rss_kb(k) for k in kids)
            sample["pss"] = sum(pss_kb(k) for k in kids)
            sample["server_rss"] = rss_kb(srv.proc.pid)
            t0 = time.perf_counter()
            h = srv.get("/health")
            sample["health_ms"] = (time.perf_counter() - t0) * 1000
            sample["health"] = h.status

        with concurrent.futures.ThreadPoolExecutor(max_workers=N_AI + 1) as ex:
            futs = [ex.submit(one, i) for i in range(N_AI)]
            st = threading.Thread(target=sampler)
            st.start()
            t0 = time.perf_counter()
            go.set()
            results = [f.result() for f in futs]
            wall = time.perf_counter() - t0
            st.join()
        ok = sum(1 for _, r in results if r.status == 200 and r.json.get("success")
                 and r.json.get("stdout") == "done\n")
        slowest = max(t for t, _ in results)
        print(f"(b) {N_AI} runs started together, 3 AI calls each, Ollama double answering after 1 s:")
        print(f"    {ok}/{N_AI} succeeded; all finished in {wall:.2f} s (slowest run {slowest:.2f} s; "
              f"ideal 3.00 s, target 5 s) -> {'PASS' if ok == N_AI and wall <= 5.0 else 'FAIL'}")
        print(f"    GET /health during the wait: {sample.get('health')} in "
              f"{sample.get('health_ms', 0):.1f} ms")
        bare_rss, bare_pss = bare_python_memory()
        n = max(sample.get("runs", 0), 1)
        per_pss = sample.get("pss", 0) / n
        per_rss = sample.get("rss", 0) / n
        server_per = (sample.get("server_rss", 0) - server_rss0) / max(N_AI, 1)
        print(f"(c) memory per waiting run ({sample.get('runs')} runs in "
              f"{sample.get('n')} processes below the server):")
        print(f"    per run          PSS {per_pss / 1024:6.2f} MiB  RSS {per_rss / 1024:6.2f} MiB "
              "(RSS counts shared pages once per process)")
        print(f"    server's own growth per run {server_per:7.1f} KiB")
        print(f"    bare python3     PSS {bare_pss / 1024:6.2f} MiB  RSS {bare_rss / 1024:6.2f} MiB")
        print(f"    ratio (sandbox PSS + server share) / bare python3 PSS: "
              f"{(per_pss + server_per) / max(bare_pss, 1):5.2f}x")
        return 0 if ok == N_AI and wall <= 5.0 else 1
    finally:
        srv.stop(expect_code=None)
        srv.cleanup()
        double.stop()


if __name__ == "__main__":
    sys.exit(main())
