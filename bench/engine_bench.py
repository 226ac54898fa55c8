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
--no-node, --engine PATH (another python-run, e.g. a variant build),
--against PATH (a second python-run measured beside --engine, for comparing two builds).
The commands of one figure run in turns (A, B, A, B, ...), so a change in the
machine's load during a figure affects all of them alike.
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


def run_once(cmd):
    t0 = time.perf_counter()
    p = Child(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s" % (p.returncode, shlex.join(cmd),
                                                  err.decode(errors="replace")[-2000:]))
    return wall, p.rusage.ru_utime + p.rusage.ru_stime, out


def measure_cmds(cmds, runs, warmup):
    """Runs the commands in turns; per command the median wall and CPU time, and the last output."""
    walls = [[] for _ in cmds]
    cpus = [[] for _ in cmds]
    outs = [b""] * len(cmds)
    for i in range(warmup + runs):
        for k, cmd in enumerate(cmds):
            wall, cpu, outs[k] = run_once(cmd)
            if i >= warmup:
                walls[k].append(wall)
                cpus[k].append(cpu)
    return [(statistics.median(w), statistics.median(c), o, c) for w, c, o in zip(walls, cpus, outs)]


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
    """rows: (label, cmd, wall, cpu, cpu of each run); base: the label the ratios divide by."""
    bwall, bcpu = next((r[2], r[3]) for r in rows if r[0] == base)
    eng = next((r for r in rows if r[0] == "engine"), None)
    for label, cmd, wall, cpu, each in rows:
        ratio = ""
        if label != base:
            r = cpu / bcpu
            ratio = "  %.2fx CPU, %.2fx wall vs %s%s" % (
                r, wall / bwall, base, "" if target is None or label != "engine" else
                ("  (target %.1fx: %s)" % (target, "met" if r <= target else "MISSED")))
        if label == "against" and eng is not None:
            # Runs in turns: each run against the engine's run next to it.
            pairs = statistics.median(b / a for a, b in zip(eng[4], each))
            ratio += "; %.3fx CPU vs engine (median of run pairs)" % pairs
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
    ap.add_argument("--against", default="")
    a = ap.parse_args()

    pydir = python_wasm_dir()
    image = os.path.join(pydir, "stdlib.tar")
    engine = [a.engine, "--image", image]
    against = [a.against, "--image", image] if a.against else None
    ver = subprocess.run([NATIVE, "-c", "import sys; print(sys.version.split()[0])"],
                         capture_output=True, text=True).stdout.strip()
    say("engine: %s (python.wasm and stdlib.tar in %s)" % (a.engine, pydir))
    if against:
        say("against: %s" % a.against)
    say("native: %s %s; load average %s" % (NATIVE, ver, os.getloadavg()))

    if "start" in a.only or not a.only:
        say("\nstart to print(42), median of %d runs (%d warm-up)" % (a.runs, a.warmup))
        cmds = [("native", [NATIVE, "-c", "print(42)"]),
                ("engine", engine + ["--", "python", "-c", "print(42)"])]
        if against:
            cmds.append(("against", against + ["--", "python", "-c", "print(42)"]))
        if not a.no_node:
            root = node_root(pydir)
            cmds.append(("node wasi", ["node", "--no-warnings", NODE_RUNNER, "--root", root,
                                       os.path.join(pydir, "python.wasm"), "-c", "print(42)"]))
        rows = []
        for (label, cmd), (wall, cpu, out, each) in zip(cmds, measure_cmds([c for _, c in cmds], a.runs, a.warmup)):
            if out.strip() != b"42":
                raise SystemExit("%s printed %r" % (label, out))
            rows.append((label, cmd, wall, cpu, each))
        report(rows, "native", START_TARGET, a.runs, a.warmup)

    for name, prog, arg in CPU_WORKLOADS:
        if a.only and a.only not in name:
            continue
        say("\n%s (bench/engine/%s %s), median of %d runs (1 warm-up)" % (name, prog, arg, a.cpu_runs))
        guest = ["--dir", PROGS + "::/bench:ro", "--", "python", "/bench/" + prog, arg]
        cmds = [("native", [NATIVE, os.path.join(PROGS, prog), arg]), ("engine", engine + guest)]
        if against:
            cmds.append(("against", against + guest))
        rows, native_out = [], None
        for (label, cmd), (wall, cpu, out, each) in zip(cmds, measure_cmds([c for _, c in cmds], a.cpu_runs, 1)):
            rows.append((label, cmd, wall, cpu, each))
            if out != native_out and label != "native":
                raise SystemExit("%s: %s printed %r, native %r" % (name, label, out, native_out))
            native_out = out if label == "native" else native_out
        report(rows, "native", CPU_TARGET, a.cpu_runs, 1)
    say("\nload average at the end %s" % (os.getloadavg(),))


if __name__ == "__main__":
    main()
