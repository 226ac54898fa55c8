#!/usr/bin/python3
"""Runs every WasmForge test and ends with one summary line.

Suites:
  * C unit tests (cmocka): every tests/unit/**/test_*.c, built twice - the
    plain build (build/) and the sanitizer build (build-san/, ASan+UBSan) -
    and run with TAP output so that each case is counted.
  * Python suites (stdlib unittest): every tests/**/test_*.py outside
    tests/unit; they start the real binaries themselves. They run against the
    plain build, then again against the sanitizer build when WF_TEST_SAN=1
    (the default in CI). The sandbox suites (tests/runs, tests/hostile) run
    twice per build: WF_TEST_SANDBOX=native, then wasm.

Environment: WF_TEST_FILTER=substr runs only suites whose path contains it.
The last line is "N passed, N failed, N skipped".
"""
import os
import subprocess
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILTER = os.environ.get("WF_TEST_FILTER", "")
JOBS = str(os.cpu_count() or 2)

totals = {"passed": 0, "failed": 0, "skipped": 0}
failures = []


def say(msg):
    print(msg, flush=True)


def make(*args):
    cmd = ["make", "--no-print-directory", "-C", ROOT, "-j" + JOBS, *args]
    say("$ " + " ".join(cmd[1:]))
    return subprocess.run(cmd).returncode == 0


def run_unit(build):
    bindir = os.path.join(ROOT, build, "tests")
    for dirpath, _, files in sorted(os.walk(bindir)):
        for f in sorted(files):
            path = os.path.join(dirpath, f)
            if not f.startswith("test_") or not os.access(path, os.X_OK):
                continue
            if FILTER and FILTER not in path:
                continue
            name = os.path.relpath(path, ROOT)
            env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
            t0 = time.monotonic()
            p = subprocess.run([path], cwd=ROOT, env=env, capture_output=True, text=True)
            ok = bad = skipped = 0
            for line in p.stdout.splitlines():
                if "# SKIP" in line and line.startswith(("ok ", "not ok ")):
                    skipped += 1  # cmocka writes a skip() as "not ok N # SKIP"
                elif line.startswith("ok "):
                    ok += 1
                elif line.startswith("not ok "):
                    bad += 1
                    failures.append(f"{name}: {line}")
            if p.returncode != 0 and bad == 0:
                bad = 1
                failures.append(f"{name}: exit {p.returncode}")
            if bad:
                sys.stdout.write(p.stdout + p.stderr)
            totals["passed"] += ok
            totals["skipped"] += skipped
            totals["failed"] += bad
            say(f"unit {name}: {ok} passed, {bad} failed ({time.monotonic() - t0:.1f}s)")


class Counter(unittest.TextTestResult):
    pass


# Suites that run once per sandbox (WF_TEST_SANDBOX=native, then wasm).
SANDBOX_SUITES = ("runs", "hostile", "compat")


def _forget_sandbox_modules():
    """Drop the sandbox suites' modules so the next pass imports them again
    with the other WF_TEST_SANDBOX."""
    dirs = tuple(os.path.join(ROOT, "tests", d) + os.sep for d in SANDBOX_SUITES)
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None) or ""
        if f.startswith(dirs):
            del sys.modules[name]


def _for_sandbox(suite, sandbox, build):
    """The suite less the test classes that name other sandboxes in their
    `sandboxes` attribute, or other builds (build, build-san) in their
    `builds`: those belong to another pass, not a skip here."""
    kept = unittest.TestSuite()
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            sub = _for_sandbox(t, sandbox, build)
            if sub.countTestCases():
                kept.addTest(sub)
        elif (sandbox in getattr(type(t), "sandboxes", (sandbox,))
              and build in getattr(type(t), "builds", (build,))):
            kept.addTest(t)
    return kept


def run_python(build, sandbox=None):
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    if sandbox:
        os.environ["WF_TEST_SANDBOX"] = sandbox
        _forget_sandbox_modules()
    for dirpath, dirs, files in sorted(os.walk(os.path.join(ROOT, "tests"))):
        dirs[:] = sorted(d for d in dirs if d not in ("unit", "__pycache__", "fuzz"))
        top = os.path.relpath(dirpath, os.path.join(ROOT, "tests")).split(os.sep)[0]
        if sandbox and sandbox != "native" and top not in SANDBOX_SUITES:
            continue
        for f in sorted(files):
            if not (f.startswith("test_") and f.endswith(".py")):
                continue
            path = os.path.join(dirpath, f)
            if FILTER and FILTER not in path:
                continue
            sys.path.insert(0, dirpath)
            sys.path.insert(0, os.path.join(ROOT, "tests"))
            suite.addTests(loader.discover(dirpath, pattern=f, top_level_dir=dirpath))
    if sandbox:
        suite = _for_sandbox(suite, sandbox, build)
    if suite.countTestCases() == 0:
        return
    os.environ["WF_BUILD"] = os.path.join(ROOT, build)
    say(f"python suites against {build}/{' with the ' + sandbox + ' sandbox' if sandbox else ''} "
        f"({suite.countTestCases()} tests)")
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    bad = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    totals["failed"] += bad
    totals["skipped"] += skipped
    # A class or module whose set-up failed or skipped is one entry here but
    # none of its tests ran: only the entries of tests that ran come off.
    ran_but_not_passed = sum(1 for t, _ in res.failures + res.errors + res.skipped
                             if isinstance(t, unittest.TestCase))
    totals["passed"] += res.testsRun - ran_but_not_passed - len(res.unexpectedSuccesses)
    for t, _ in res.failures + res.errors:
        failures.append(f"{build}{'/' + sandbox if sandbox else ''}: {t.id()}")


def main():
    os.chdir(ROOT)
    san = os.environ.get("WF_TEST_SAN", "1" if os.environ.get("CI") else "1") == "1"
    builds = ["build"] + (["build-san"] if san else [])
    for build in builds:
        extra = ["SAN=1"] if build == "build-san" else []
        if not make(*extra, "all", "test-unit-bins", "ui-test-deps"):
            totals["failed"] += 1
            failures.append(f"{build}: build failed")
            continue
        run_unit(build)
    for build in builds:
        if not os.path.exists(os.path.join(ROOT, build, "wasmforge")):
            continue
        if build == "build-san":
            os.environ["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=99"
            os.environ["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        run_python(build, "native")
        run_python(build, "wasm")
    if failures:
        say("\nFailures:")
        for f in failures:
            say("  " + f)
    say(f"\n{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return 1 if totals["failed"] else 0


def start_pg_cluster():
    """One throwaway PostgreSQL cluster for the whole run, exported to every
    suite as WF_TEST_PG_URL (and its folder as WF_TEST_PG_DIR), unless the
    caller named one. Returns the folder to remove at the end, or None."""
    if os.environ.get("WF_TEST_PG_URL"):
        return None
    import tempfile
    from support import pg
    d = tempfile.mkdtemp(prefix="wf-pg-")
    try:
        os.environ["WF_TEST_PG_URL"] = pg.start(d)
        os.environ["WF_TEST_PG_DIR"] = d
        say(f"PostgreSQL test cluster: {os.environ['WF_TEST_PG_URL']}")
    except Exception as e:
        say(f"PostgreSQL test cluster did not start: {e}")
        if os.environ.get("CI") == "true":  # in CI its tests fail, never skip
            totals["failed"] += 1
            failures.append(f"PostgreSQL test cluster did not start: {e}")
    return d


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the cluster still goes
    pg_dir = start_pg_cluster()
    try:
        status = main()
    finally:
        if pg_dir:
            from support import pg
            pg.destroy(pg_dir)
    sys.exit(status)
