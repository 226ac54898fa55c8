#!/usr/bin/python3
"""What a plugin run costs on this host, and why (make bench-runcost).

A trivial run is a fork of a zygote, a few hundred page faults and an
exit; how long that takes depends on the host's memory manager more than on
our code. This prints, for a trivial run over HTTP in both sandboxes (wasm
and native), beside its latency (p50, p99, sequential runs/s):

  - page faults per run (minor and major), over the sequential runs:
    the sandbox child's (the zygote's cminflt/cmajflt delta in
    /proc/PID/stat: a child's faults are added to the parent that reaps
    it, the zygote), the zygote's own (copy-on-write of the pages it writes
    after each fork) and the server's own (minflt delta), each over N;
  - pages dirtied per run: Private_Dirty of a run's process (smaps_rollup)
    while it waits on an AI call to a slow Ollama double, one run at a time
    so that no later fork shares or unshares its pages; what the fork
    shares stays Shared_*, so Private_Dirty is what the run copied or
    allocated up to its call_ai (the trivial run's output and exit come
    after it); its largest mappings;
  - the host: CPU model, cores, kernel, hypervisor flag, transparent huge
    pages, load average (1, 5, 15 min) at the start and the end;
  - the host's prices, measured directly by a small C program
    (bench/run_cost_probe.c, compiled by the benchmark): a first-touch
    fault on fresh anonymous memory, a copy-on-write fault after fork (the
    kind most of a run's faults are), the unmapping of touched memory, and
    fork + _exit + waitpid of a small process and of one with as much
    anonymous memory touched as each zygote holds; each as wall time and as
    CPU time (which the other work of a loaded machine does not lengthen);
  - the baseline start of a bare `/usr/bin/python3 -c pass` in the same
    run, with each run's p50 as a ratio of it.

The child's faults times the CPU of a copy-on-write fault here is printed as
an estimate of the time a run spends faulting (an estimate: some of those
faults are cheaper read faults on the engine's or python3's text). Timings move with the
machine's load (printed); fault and page counts do not.

A bench, not a test: nothing is compared with a target, but any failed run
ends it with a non-zero exit.

Options: --runs N (sequential runs per sandbox), --samples N (waiting runs
sampled for the pages dirtied), --starts N (bare python3 starts), --touch-mib
N (memory of the fault probes), --forks N, --probe PATH (a built probe).
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from proc_stats import pct, private_dirty_by_mapping, private_dirty_kb, rss_kb  # noqa: E402
from run_support import (ROOT, WAITER, bare_python, fail, run_ok, run_pids, say,  # noqa: E402
                         sequential, settle, start_server, upload, zygotes)
from support.ollama_double import OllamaDouble  # noqa: E402
from support.server import build_dir  # noqa: E402

PROBE_SRC = os.path.join(HERE, "run_cost_probe.c")
PROBE_CFLAGS = ["-std=c17", "-Wall", "-Wextra", "-Werror", "-O2", "-D_GNU_SOURCE"]


def host():
    """CPU model, kernel, whether a hypervisor is under us, the THP mode."""
    model, hyper = "unknown", False
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k.strip() == "model name" and model == "unknown":
                    model = v.strip()
                elif k.strip() == "flags" and "hypervisor" in v.split():
                    hyper = True
    except OSError:
        pass
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            thp = f.read().strip()
    except OSError:
        thp = "unknown"
    return model, hyper, platform.release(), thp


def probe_path(given):
    """The probe binary: --probe, else the build's (make bench-runcost
    builds it), else compiled now into a temporary folder."""
    if given:
        return given
    built = os.path.join(build_dir(), "bench", "run_cost_probe")
    if os.access(built, os.X_OK) and os.path.getmtime(built) >= os.path.getmtime(PROBE_SRC):
        return built
    out = os.path.join(tempfile.mkdtemp(prefix="wf-run-cost-"), "run_cost_probe")
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, *PROBE_CFLAGS, PROBE_SRC, "-o", out], check=True)
    return out


def probe(exe, *args):
    p = subprocess.run([exe, *map(str, args)], capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"run_cost_probe {' '.join(map(str, args))}: {p.stderr.strip()}")
    return {k: int(v) for k, _, v in (line.partition("=") for line in p.stdout.split())}


def anon_mib(pid):
    """A process's anonymous memory (RssAnon), in whole MiB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return max(1, round(int(line.split()[1]) / 1024))
    except OSError:
        pass
    return 1


def mapping_name(name):
    """A file mapping by its base name, an anonymous one by its size (the
    engine's linear memory is the large one)."""
    if name.startswith("/"):
        return os.path.basename(name)
    if name.startswith("anonymous "):
        lo, _, hi = name.split()[1].partition("-")
        kb = (int(hi, 16) - int(lo, 16)) // 1024
        return f"anonymous ({kb / 1024:.1f} MiB mapping)" if kb >= 1024 else f"anonymous ({kb} kB mapping)"
    return name


def dirtied(server, double, samples, delay):
    """Private_Dirty (kB) of one waiting run at a time, sampled once the
    double has its request (the run is blocked in call_ai), and the
    largest mappings of the first sample."""
    upload(server, "bench_waiter", WAITER)
    double.configure(delay=delay)
    pid = server.proc.pid
    kb, top = [], []
    try:
        for _ in range(samples):
            settle(pid)
            seen = len(double.requests())
            res = {}
            t = threading.Thread(target=lambda: res.update(r=server.run("bench_waiter", "x",
                                                                         timeout=delay + 120)))
            t.start()
            end = time.monotonic() + delay + 60
            while len(double.requests()) == seen and t.is_alive() and time.monotonic() < end:
                time.sleep(0.005)
            runs = run_pids(pid)
            if len(runs) == 1 and t.is_alive():
                kb.append(private_dirty_kb(runs[0]))
                if not top:
                    top = private_dirty_by_mapping(runs[0])[:4]
            t.join()
            r = res.get("r")
            if r is None or not run_ok(r):
                fail(f"a waiting run failed: {r.status if r else 'no answer'} "
                     f"{r.text[:300] if r else ''}")
            if len(runs) != 1:
                fail(f"{len(runs)} run processes while one run waited")
    finally:
        double.configure(delay=0)
    return kb, top


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--starts", type=int, default=100)
    ap.add_argument("--touch-mib", type=int, default=64)
    ap.add_argument("--forks", type=int, default=200)
    ap.add_argument("--delay", type=float, default=2.0, help="the double's delay while sampling")
    ap.add_argument("--probe", help="a built bench/run_cost_probe.c")
    args = ap.parse_args()
    if min(args.runs, args.samples, args.starts, args.touch_mib, args.forks) < 1:
        raise SystemExit("every count must be at least 1")

    model, hyper, kernel, thp = host()
    load0 = os.getloadavg()
    say(f"host: {model}, {os.cpu_count()} cores, kernel {kernel}, "
        f"{'under a hypervisor' if hyper else 'no hypervisor flag'}, transparent huge pages {thp}")
    say(f"host: load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} (1, 5, 15 min) at the start")

    exe = probe_path(args.probe)
    t = probe(exe, "touch", args.touch_mib)
    c = probe(exe, "cow", args.touch_mib)
    f = probe(exe, "fork", args.forks, 0)
    touch_us, touch_cpu_us = (t[k] / t["pages"] / 1000 for k in ("touch_ns", "touch_cpu_ns"))
    cow_us, cow_cpu_us = (c[k] / c["pages"] / 1000 for k in ("cow_ns", "cow_cpu_ns"))
    say(f"host: first-touch fault, fresh anonymous memory: {touch_us:.2f} µs a 4 KiB page, "
        f"{touch_cpu_us:.2f} µs of CPU ({args.touch_mib} MiB: {t['pages']} pages, {t['faults']} faults); "
        f"its munmap {t['unmap_ns'] / t['pages']:.0f} ns a page")
    say(f"host: copy-on-write fault after fork: {cow_us:.2f} µs a 4 KiB page, {cow_cpu_us:.2f} µs of CPU "
        f"({c['pages']} pages, {c['faults']} faults)")
    say(f"host: fork + _exit + waitpid of a small C process ({f['rss_kb']} kB RSS): "
        f"p50 {f['p50_ns'] / 1e6:.3f} ms, p99 {f['p99_ns'] / 1e6:.3f} ms, mean {f['mean_ns'] / 1e6:.3f} ms, "
        f"CPU {f['cpu_mean_ns'] / 1e6:.3f} ms ({f['forks']} forks)")
    starts = bare_python(args.starts)
    py50 = pct(starts, 50)
    say(f"host: bare `/usr/bin/python3 -c pass`: p50 {py50:.2f} ms, p99 {pct(starts, 99):.2f} ms "
        f"({args.starts} starts)")

    double = OllamaDouble()
    url = double.start()
    figures = {}
    try:
        for sandbox in ("wasm", "native"):
            s = start_server(sandbox, url)
            try:
                seq = sequential(s, args.runs)
                fl = seq["faults"]
                zyg = zygotes(s.proc.pid)
                zmib = sum(anon_mib(p) for p in zyg)
                zrss = sum(rss_kb(p) for p in zyg)
                kb, top = dirtied(s, double, args.samples, args.delay)
            finally:
                s.stop()
                s.cleanup()
            if not zyg:
                fail(f"no zygote found below the {sandbox} server: its faults cannot be read")
            zf = probe(exe, "fork", max(20, args.forks // 4), zmib)
            figures[sandbox] = seq
            say()
            say(f"{sandbox:6s} trivial run over HTTP: p50 {seq['p50']:.2f} ms, p99 {seq['p99']:.2f} ms, "
                f"{seq['rps']:.0f} sequential runs/s, CPU per run (server + sandbox) {seq['cpu_ms']:.2f} ms "
                f"({args.runs} runs); p50 / bare python3 {seq['p50'] / py50:.2f}x")
            say(f"{sandbox:6s} page faults per run, minor (major): sandbox child {fl['child_min']:.1f} "
                f"({fl['child_maj']:.2f}), zygote {fl['zygote_min']:.1f} ({fl['zygote_maj']:.2f}), "
                f"server {fl['server_min']:.1f} ({fl['server_maj']:.2f})")
            if kb:
                med = statistics.median(kb)
                say(f"{sandbox:6s} pages dirtied per run (Private_Dirty of a run waiting on call_ai, "
                    f"median of {len(kb)}): {med / 4:.0f} pages ({med:.0f} kB; min {min(kb)}, max "
                    f"{max(kb)} kB); largest: "
                    + ", ".join(f"{k} kB {mapping_name(n)}" for k, n in top))
            else:
                say(f"{sandbox:6s} pages dirtied per run: not sampled (the run was not seen waiting)")
            say(f"{sandbox:6s} zygote: {zrss / 1024:.1f} MiB RSS, {zmib} MiB anonymous; fork + _exit + "
                f"waitpid of a C process with {zmib} MiB touched: p50 {zf['p50_ns'] / 1e6:.3f} ms, "
                f"mean {zf['mean_ns'] / 1e6:.3f} ms, CPU {zf['cpu_mean_ns'] / 1e6:.3f} ms ({zf['forks']} forks)")
            fault_ms = fl["child_min"] * cow_cpu_us / 1000
            say(f"{sandbox:6s} estimate: the child's {fl['child_min']:.0f} minor faults x {cow_cpu_us:.2f} µs "
                f"(a copy-on-write fault's CPU here) = {fault_ms:.2f} ms, {fault_ms / seq['cpu_ms']:.0%} of "
                f"the run's CPU and {fault_ms / seq['p50']:.0%} of its p50")
    finally:
        double.stop()

    w, n = figures["wasm"], figures["native"]
    load1 = os.getloadavg()
    say()
    say(f"wasm / native: p50 {w['p50'] / n['p50']:.2f}x, runs/s {w['rps'] / n['rps']:.2f}x, child faults "
        f"{w['faults']['child_min'] / max(n['faults']['child_min'], 1):.2f}x")
    say(f"host: load average {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} at the end (timings are "
        "comparable only at a low load; fault and page counts are not affected by it)")
    say(f"reproduce: make bench-runcost BENCH_ARGS='--runs {args.runs}'  (or /usr/bin/python3 "
        f"{os.path.relpath(__file__, ROOT)} --runs {args.runs})")


if __name__ == "__main__":
    main()
