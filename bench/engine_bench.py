#!/usr/bin/python3
"""The WebAssembly engine against native CPython (make bench-engine), with
ratios against baselines measured in the same run.

  1. Interpreter start to `print(42)`: our engine (CPython 3.11 for wasm32-wasi
     through wasm2c, on our WASI host, build/engine/python-run) vs Debian's
     /usr/bin/python3 (3.11.2) vs Node's WASI running the same python.wasm
     with the same standard library.
  2. CPU-bound Python (bench/engine/*.py: n-body, JSON, regex, fib, strings)
     on the engine vs /usr/bin/python3.

Each figure is the median of --runs runs (after --warmup runs), of wall time
and of CPU time (user + system of the child, from wait4). The machine is
shared, so CPU time is the steadier figure and the ratios use it; wall time is
printed beside it. Every figure comes with a command that reproduces it.

Targets (from the issue): start within 1.5x of native python3; CPU-bound
within 1.3x of native.
Options: --runs N, --warmup N, --only NAME (substring of a figure's name),
--no-node, --engine PATH (another python-run, e.g. a variant build).
"""
import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("WF_BUILD", os.path.join(ROOT, "build"))
PROGS = os.path.join(HERE, "engine")
NATIVE = "/usr/bin/python3"
NODE_RUNNER = os.path.join(ROOT, "scripts", "wasm", "node-wasi-run.mjs")

# name, program, argument: sized for about 0.3-1 s of native CPU each.
CPU_WORKLOADS = [
    ("n-body", "nbody.py", "100000"),
    ("json encode/decode", "json_rt.py", "200"),
    ("regex", "regex.py", "60"),
    ("fib(30) recursive", "fib.py", "30"),
    ("string building", "strings.py", "400"),
]
START_TARGET = 1.5
CPU_TARGET = 1.3


def say(msg=""):
    print(msg, flush=True)


def python_wasm_dir():
    with open(os.path.join(BUILD, "engine", "python-wasm.path")) as f:
        return f.read().strip()


class Child(subprocess.Popen):
    """Popen that reaps with wait4, so the child's rusage is kept."""

    def _try_wait(self, wait_flags):
        pid, status, ru = os.wait4(self.pid, wait_flags)
        self.rusage = ru
        return pid, status


def measure_cmd(cmd, runs, warmup):
    walls, cpus, out = [], [], b""
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        p = Child(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        out, err = p.communicate()
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit("failed (%d): %s\n%s" % (p.returncode, shlex.join(cmd),
                                                      err.decode(errors="replace")[-2000:]))
        if i >= warmup:
            walls.append(wall)
            cpus.append(p.rusage.ru_utime + p.rusage.ru_stime)
    return statistics.median(walls), statistics.median(cpus), out


def node_root(pydir):
    """stdlib.tar unpacked once per build of it (Node's WASI maps real folders)."""
    root = os.path.join(BUILD, "engine", "node-root")
    stamp = os.path.join(root, ".from")
    tar = os.path.join(pydir, "stdlib.tar")
    try:
        with open(stamp) as f:
            if f.read() == tar:
                return root
    except OSError:
        pass
    subprocess.run(["rm", "-rf", root], check=True)
    os.makedirs(root)
    with tarfile.open(tar) as t:
        t.extractall(root)
    with open(stamp, "w") as f:
        f.write(tar)
    return root


def fmt(sec):
    return "%8.1f ms" % (sec * 1000)


def report(rows, base, target, runs, warmup):
    """rows: (label, cmd, wall, cpu); base: the label the ratios divide by."""
    bwall, bcpu = next((w, c) for l, _, w, c in rows if l == base)
    for label, cmd, wall, cpu in rows:
        ratio = ""
        if label != base:
            r = cpu / bcpu
            ratio = "  %.2fx CPU, %.2fx wall vs %s%s" % (
                r, wall / bwall, base, "" if target is None else
                ("  (target %.1fx: %s)" % (target, "met" if r <= target else "MISSED")))
        say("  %-14s wall %s  cpu %s%s" % (label, fmt(wall), fmt(cpu), ratio))
        say('      hyperfine -N -w %d -r %d "%s"' % (warmup, runs, shlex.join(cmd)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--cpu-runs", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--only", default="")
    ap.add_argument("--no-node", action="store_true")
    ap.add_argument("--engine", default=os.path.join(BUILD, "engine", "python-run"))
    a = ap.parse_args()

    pydir = python_wasm_dir()
    image = os.path.join(pydir, "stdlib.tar")
    engine = [a.engine, "--image", image]
    ver = subprocess.run([NATIVE, "-c", "import sys; print(sys.version.split()[0])"],
                         capture_output=True, text=True).stdout.strip()
    say("engine: %s (python.wasm and stdlib.tar in %s)" % (a.engine, pydir))
    say("native: %s %s; load average %s" % (NATIVE, ver, os.getloadavg()))

    if "start" in a.only or not a.only:
        say("\nstart to print(42), median of %d runs (%d warm-up)" % (a.runs, a.warmup))
        cmds = [("native", [NATIVE, "-c", "print(42)"]),
                ("engine", engine + ["--", "python", "-c", "print(42)"])]
        if not a.no_node:
            root = node_root(pydir)
            cmds.append(("node wasi", ["node", "--no-warnings", NODE_RUNNER, "--root", root,
                                       os.path.join(pydir, "python.wasm"), "-c", "print(42)"]))
        rows = []
        for label, cmd in cmds:
            wall, cpu, out = measure_cmd(cmd, a.runs, a.warmup)
            if out.strip() != b"42":
                raise SystemExit("%s printed %r" % (label, out))
            rows.append((label, cmd, wall, cpu))
        report(rows, "native", START_TARGET, a.runs, a.warmup)

    for name, prog, arg in CPU_WORKLOADS:
        if a.only and a.only not in name:
            continue
        say("\n%s (bench/engine/%s %s), median of %d runs (1 warm-up)" % (name, prog, arg, a.cpu_runs))
        native = [NATIVE, os.path.join(PROGS, prog), arg]
        ours = engine + ["--dir", PROGS + "::/bench:ro", "--", "python", "/bench/" + prog, arg]
        rows, outs = [], []
        for label, cmd in (("native", native), ("engine", ours)):
            wall, cpu, out = measure_cmd(cmd, a.cpu_runs, 1)
            rows.append((label, cmd, wall, cpu))
            outs.append(out)
        if outs[0] != outs[1]:
            raise SystemExit("%s: the engine printed %r, native %r" % (name, outs[1], outs[0]))
        report(rows, "native", CPU_TARGET, a.cpu_runs, 1)
    say("\nload average at the end %s" % (os.getloadavg(),))


if __name__ == "__main__":
    main()
