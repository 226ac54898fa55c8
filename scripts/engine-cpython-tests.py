#!/usr/bin/python3
"""CPython's own test modules inside the WebAssembly engine (make test-cpython-stdlib; slow, not part
of make test). Each module runs as `python -m test -v MODULE` in its own engine process, on an image
that is stdlib.tar plus CPython's Lib/test; prints a table of tests run/passed/failed/skipped per module
and keeps every log in $WF_BUILD/engine/cpython-tests/.

The image: stdlib-tests.tar beside stdlib.tar when the CPython build made one, else built here once
(cached in ~/.cache/wasmforge/stdlib-tests/<hash of inputs>/) from stdlib.tar and Lib/test of the same
Debian source tarball, precompiled by /usr/bin/python3 (3.11, the same bytecode as the guest's).
Options: --only a,b (modules), --limits (the modules that show WASI's limits instead of the default
set), --timeout S (per module), --image TAR. Exit status 1 when a module does not pass.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from support import engine  # noqa: E402

CACHE = os.environ.get("WF_CACHE", os.path.expanduser("~/.cache/wasmforge"))
TARBALL = os.path.join(CACHE, "sources", "python3.11_3.11.2.orig.tar.gz")
TOP = "Python-3.11.2/Lib/test/"

MODULES = [
    "test_json", "test_re", "test_math", "test_decimal", "test_datetime", "test_collections",
    "test_itertools", "test_functools", "test_dataclasses", "test_typing", "test_random",
    "test_statistics", "test_hashlib", "test_base64", "test_zlib", "test_csv", "test_textwrap",
    "test_unicodedata", "test_struct", "test_array", "test_html", "test_xml_etree", "test_urlparse",
    "test_string", "test_difflib", "test_fractions", "test_heapq", "test_bisect", "test_copy",
    "test_pprint", "test_enum",
]
# --limits: modules that show where WASI and our host stop (whole-module skips, known failures).
LIMITS = [
    "test_htmlparser", "test_pickle", "test_tempfile", "test_time", "test_os", "test_io", "test_zoneinfo",
    "test_threading", "test_subprocess", "test_socket", "test_asyncio", "test_ctypes", "test_sqlite3",
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_image(stdlib_tar):
    """stdlib.tar + Lib/test (with .pyc), cached by its inputs; returns the archive's path."""
    if not os.path.exists(TARBALL):
        raise SystemExit("%s is missing: make python-wasm fetches it" % TARBALL)
    native = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(sys.version)"],
                            capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256("\n".join([sha256(stdlib_tar), sha256(TARBALL), sha256(__file__),
                                    native]).encode()).hexdigest()
    out = os.path.join(CACHE, "stdlib-tests", key)
    image = os.path.join(out, "stdlib-tests.tar")
    if os.path.exists(image):
        return image
    print("building the test image in %s" % out, flush=True)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    work = tempfile.mkdtemp(prefix=".tmp.", dir=os.path.dirname(out))
    try:
        tree = os.path.join(work, "root")
        with tarfile.open(stdlib_tar) as t:
            t.extractall(tree)
        lib = os.path.join(tree, "usr", "lib", "python3.11")
        with tarfile.open(TARBALL) as t:
            members = []
            for m in t.getmembers():
                if m.name.startswith(TOP) and (m.isfile() or m.isdir()):
                    m.name = "test/" + m.name[len(TOP):]
                    members.append(m)
            t.extractall(lib, members=members)
        # The guest cannot write .pyc files: ship them, hash-based and unchecked like the stdlib's.
        subprocess.run(["/usr/bin/python3", "-E", "-Wi", "-m", "compileall", "-q", "-j2",
                        "--invalidation-mode", "unchecked-hash", "-d", "/usr/lib/python3.11/test",
                        "-x", "bad_coding|badsyntax", os.path.join(lib, "test")],
                       stdout=subprocess.DEVNULL, check=False)
        tmp_tar = os.path.join(work, "stdlib-tests.tar")
        subprocess.run(["tar", "-C", tree, "--format=ustar", "--sort=name", "--owner=0", "--group=0",
                        "--numeric-owner", "--mtime=@0", "-cf", tmp_tar] + sorted(os.listdir(tree)),
                       check=True)
        os.makedirs(os.path.join(work, "out"))
        os.rename(tmp_tar, os.path.join(work, "out", "stdlib-tests.tar"))
        os.rename(os.path.join(work, "out"), out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return image


def find_image():
    d = engine.python_wasm_dir()
    if not d:
        raise SystemExit(engine.missing())
    beside = os.path.join(d, "stdlib-tests.tar")
    return beside if os.path.exists(beside) else build_image(os.path.join(d, "stdlib.tar"))


RAN = re.compile(r"^Ran (\d+) tests? in", re.M)
TAIL = re.compile(r"^(OK|FAILED)(?: \((.*)\))?$", re.M)


def parse(log):
    """(ran, failures, errors, skipped, expected failures) from unittest's summary lines."""
    ran = sum(int(n) for n in RAN.findall(log))
    counts = {"failures": 0, "errors": 0, "skipped": 0, "expected failures": 0,
              "unexpected successes": 0}
    for _, detail in TAIL.findall(log):
        for part in filter(None, (detail or "").split(", ")):
            k, _, v = part.rpartition("=")
            if k in counts:
                counts[k] += int(v)
    return ran, counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--image", default="")
    ap.add_argument("--limits", action="store_true", help="run the LIMITS modules instead")
    a = ap.parse_args()
    if engine.missing():
        raise SystemExit(engine.missing())
    image = a.image or find_image()
    mods = a.only.split(",") if a.only else LIMITS if a.limits else MODULES
    logdir = os.path.join(engine.BUILD, "engine", "cpython-tests")
    os.makedirs(logdir, exist_ok=True)
    print("image: %s\nengine: %s\nlogs: %s/\n" % (image, engine.PYRUN, logdir), flush=True)
    print("| module | tests | passed | failed | errors | skipped | result | time |")
    print("|---|---:|---:|---:|---:|---:|---|---:|", flush=True)
    totals = [0, 0, 0, 0, 0]
    bad = []
    for mod in mods:
        t0 = time.monotonic()
        cmd = [engine.PYRUN, "--image", image, "--", "python", "-m", "test", "-v", mod]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout,
                               stdin=subprocess.DEVNULL, errors="replace")
            log, rc = p.stdout + p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            log, rc = (e.stdout or b"").decode(errors="replace") + "\nTIMEOUT\n", None
        secs = time.monotonic() - t0
        with open(os.path.join(logdir, mod + ".log"), "w") as f:
            f.write(log)
        ran, c = parse(log)
        skipped = c["skipped"]
        failed = c["failures"] + c["unexpected successes"]
        passed = ran - failed - c["errors"] - skipped
        whole_skip = re.search(r"^%s skipped -- (.*)$" % re.escape(mod), log, re.M)
        if rc is None:
            result = "timeout"
        elif whole_skip:
            result = "skipped: " + whole_skip.group(1)
        elif ran == 0:
            result = "no tests (exit %s)" % rc
        elif "Tests result: SUCCESS" in log and rc == 0:
            result = "pass"
        else:
            result = "FAIL (exit %s)" % rc
        if result != "pass":
            bad.append(mod)
        for i, v in enumerate((ran, passed, failed, c["errors"], skipped)):
            totals[i] += v
        print("| %s | %d | %d | %d | %d | %d | %s | %.0f s |" % (mod, ran, passed, failed, c["errors"],
                                                               skipped, result, secs), flush=True)
    print("| **total (%d modules)** | %d | %d | %d | %d | %d | %d pass | |" % (
        len(mods), *totals, len(mods) - len(bad)), flush=True)
    print("\n%d of %d modules pass; %d tests, %d passed, %d failed, %d errors, %d skipped" % (
        len(mods) - len(bad), len(mods), *totals))
    if bad:
        print("not passing: %s (logs in %s/)" % (", ".join(bad), logdir))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
