"""Checks the sandbox engine's build pipeline: wasm2native.sh on small modules built here, and the
cached products of build-python.sh / wasm2native.sh (python.wasm, stdlib.tar, module.a) when present.
"""
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import unittest

from support.require import require

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WASM2NATIVE = os.path.join(ROOT, "scripts", "wasm", "wasm2native.sh")
RT_IMPL = "/usr/share/wabt/wasm2c/wasm-rt-impl.c"

# A module without imports: enough data segments to take the table-and-loop path, an indirect call
# (function table) and functions spread over several compiled parts.
GUEST_C = r"""
#define SEG(n) __attribute__((used)) static const char s##n[] = "segment " #n;
#define S10(n) SEG(n##0) SEG(n##1) SEG(n##2) SEG(n##3) SEG(n##4) SEG(n##5) SEG(n##6) SEG(n##7) SEG(n##8) SEG(n##9)
S10(1) S10(2) S10(3) S10(4) S10(5) S10(6) S10(7) S10(8)
static int counter = 41;
__attribute__((noinline)) static int square(int x) { return x * x; }
__attribute__((noinline)) static int twice(int x) { return 2 * x; }
int (*volatile ops[2])(int) = {square, twice};
__attribute__((export_name("apply"))) int apply(int op, int x) { return ops[op & 1](x); }
__attribute__((export_name("fib"))) int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
__attribute__((export_name("bump"))) int bump(void) { return ++counter; }
__attribute__((export_name("seg"))) char seg(int i) { return s57[i]; }
/* Enough parameters that wasm2c wraps the signature over several lines. */
__attribute__((noinline)) int sum14(int a, int b, int c, int d, int e, int f, int g, int h, int i, int j,
                                    int k, int l, int m, int n) {
    return a + b + c + d + e + f + g + h + i + j + k + l + m + n + counter;
}
__attribute__((export_name("sums"))) int sums(int x) {
    return sum14(x, x, x, x, x, x, x, x, x, x, x, x, x, x);
}
/* memory.grow, then stores and loads in the new page and the old one, in one function: the memory
   base read at its start must still be right after the growth. */
__attribute__((export_name("grow"))) int grow(void) {
    int old = __builtin_wasm_memory_grow(0, 1);
    if (old < 0) return -1;
    volatile unsigned char *p = (volatile unsigned char *)(old * 65536);
    p[65535] = 7;
    volatile double *d = (volatile double *)(old * 65536 + 8);
    *d = 2.5;
    counter += 1;
    return (int)(p[65535] + *d * 2) * 1000 + counter;
}
"""

DRIVER_C = r"""
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include "mod.h"
/* A runtime without guard pages grows the memory with realloc; this one always moves it. */
void *wf_moving_realloc(void *old, size_t n) {
    void *p = malloc(n);
    if (p && old) {
        size_t had = malloc_usable_size(old);
        memcpy(p, old, had < n ? had : n);
        free(old);
    }
    return p;
}
int main(void) {
    static Z_mod_instance_t m;
    wasm_rt_init();
    Z_mod_init_module();
    Z_mod_instantiate(&m);
    /* One call per statement: the order matters (bump changes what sums returns). */
    u32 sq = Z_modZ_apply(&m, 0, 7), tw = Z_modZ_apply(&m, 1, 7), fib = Z_modZ_fib(&m, 20);
    u32 bumped = Z_modZ_bump(&m);
    u32 s8 = Z_modZ_seg(&m, 8), s9 = Z_modZ_seg(&m, 9);
    u32 sums = Z_modZ_sums(&m, 1);
    u32 grown = Z_modZ_grow(&m);
    printf("%u %u %u %u %c%c %u %u\n", sq, tw, fib, bumped, (char)s8, (char)s9, sums, grown);
    Z_mod_free(&m);
    wasm_rt_free();
    return 0;
}
"""


# What the driver prints: apply(0, 7), apply(1, 7), fib(20), bump(), two bytes of a segment, sums(1),
# and grow(): (7 + 2.5 * 2) * 1000 + the counter after one more increment.
GUEST_OUTPUT = "49 14 6765 42 57 56 12043\n"


def have(*tools):
    return all(shutil.which(t) for t in tools)


def stamp_dir(name, product):
    """Cache folder recorded by mk/pywasm.mk's stamp, or None when it was not built."""
    builds = [os.environ.get("WF_BUILD", ""), os.path.join(ROOT, "build")]
    for b in builds:
        path = os.path.join(b, "engine", name)
        if b and os.path.exists(path):
            with open(path) as f:
                d = f.read().strip()
            if os.path.exists(os.path.join(d, product)):
                return d
    return None


def python_wasm_dir():
    d = stamp_dir("python-wasm.path", "python.wasm")
    if d is None:
        raise AssertionError("python.wasm not built (make python-wasm)")
    return d


@require(have("clang-19", "wasm-ld-19", "wasm2c", "gcc") and os.path.exists(RT_IMPL),
                     "needs clang-19, lld-19, wabt and gcc (make deps)")
class Wasm2NativeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wf-w2n-")
        self.env = dict(os.environ, WF_CACHE=os.path.join(self.tmp, "cache"), WF_W2C_PART_BYTES="20000")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def build_guest(self):
        src = os.path.join(self.tmp, "guest.c")
        with open(src, "w") as f:
            f.write(GUEST_C)
        wasm = os.path.join(self.tmp, "guest.wasm")
        subprocess.run(["clang-19", "--target=wasm32", "-O1", "-nostdlib", "-fuse-ld=lld",
                        "-Wl,--no-entry", "-Wl,--export-memory", "-Wl,--no-merge-data-segments", src, "-o", wasm], check=True)
        return wasm

    def translate(self, wasm, env=None):
        return subprocess.run([WASM2NATIVE, wasm], env=env or self.env, capture_output=True, text=True)

    def test_module_runs_natively(self):
        wasm = self.build_guest()
        p = self.translate(wasm)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.strip().splitlines()[-1]
        self.assertTrue(out.startswith(os.path.join(self.tmp, "cache", "native") + "/"), out)
        for f in ("module.a", "mod.h", "build.log"):
            self.assertTrue(os.path.exists(os.path.join(out, f)), f)
        with open(os.path.join(out, "build.log")) as f:
            log = f.read()
        # The small part size must have produced several parts.
        self.assertRegex(log, r"into ([2-9]|\d\d+) parts")
        run = self.run_driver(out)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout, GUEST_OUTPUT)
        # Only whole results are published: no temporary folders are left behind.
        self.assertEqual([d for d in os.listdir(os.path.dirname(out)) if d.startswith(".")], [])

    def run_driver(self, out, rt_flags=()):
        driver = os.path.join(self.tmp, "driver.c")
        with open(driver, "w") as f:
            f.write(DRIVER_C)
        exe = os.path.join(self.tmp, "driver")
        rt = os.path.join(self.tmp, "rt.o")
        subprocess.run(["gcc", "-O1", *rt_flags, "-Drealloc=wf_moving_realloc", "-c", RT_IMPL, "-o", rt],
                       check=True)
        subprocess.run(["gcc", "-O1", "-I" + out, driver, rt, os.path.join(out, "module.a"),
                        "-lm", "-o", exe], check=True)
        return subprocess.run([exe], capture_output=True, text=True, timeout=30)

    def test_module_with_bounds_checks(self):
        """Without guard pages the memory moves when it grows; wasm2c's own accessors are used."""
        flags = "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0"
        p = self.translate(self.build_guest(), dict(self.env, WF_W2C_CFLAGS=flags))
        self.assertEqual(p.returncode, 0, p.stderr)
        run = self.run_driver(p.stdout.strip().splitlines()[-1], [flags])
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout, GUEST_OUTPUT)

    def test_guard_page_module_refuses_a_moving_runtime(self):
        """A module compiled for guard pages, linked with a runtime that moves the memory, stops."""
        p = self.translate(self.build_guest())
        self.assertEqual(p.returncode, 0, p.stderr)
        run = self.run_driver(p.stdout.strip().splitlines()[-1], ["-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0"])
        self.assertEqual(run.returncode, -6, run.stdout)   # SIGABRT
        self.assertIn("memory.grow moved the linear memory", run.stderr)

    def test_unexpected_generated_code_stops_the_build(self):
        """The memory rewrite fails closed on code it does not recognise."""
        wasm = self.build_guest()
        c = os.path.join(self.tmp, "mod.c")
        subprocess.run(["wasm2c", "-n", "mod", wasm, "-o", c], check=True)
        with open(c) as f:
            text = f.read()
        split = os.path.join(os.path.dirname(WASM2NATIVE), "w2c_split.py")
        variants = {
            # An accessor used with another memory.
            "uses memory in a way": text.replace("i32_load(&instance->w2c_memory, ",
                                                 "i32_load(&instance->w2c_other_memory, ", 1),
            # wasm2c's accessor macro with other semantics than the ones repeated here.
            "macro is not the one": text.replace("wasm_rt_memcpy(&result, &mem->data[addr], sizeof(t1));",
                                                 "wasm_rt_memcpy(&result, &mem->data[addr + 1], sizeof(t1));"),
        }
        for want, variant in variants.items():
            self.assertNotEqual(variant, text)
            with open(c, "w") as f:
                f.write(variant)
            outdir = tempfile.mkdtemp(dir=self.tmp)
            p = subprocess.run(["/usr/bin/python3", split, c, outdir, "2"], capture_output=True, text=True)
            self.assertNotEqual(p.returncode, 0, want)
            self.assertIn(want, p.stderr)

    def test_second_run_uses_cache(self):
        wasm = self.build_guest()
        first = self.translate(wasm)
        self.assertEqual(first.returncode, 0, first.stderr)
        d = first.stdout.strip().splitlines()[-1]
        before = os.stat(os.path.join(d, "module.a")).st_mtime_ns
        second = self.translate(wasm)
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertEqual(second.stdout.strip().splitlines()[-1], d)
        self.assertEqual(os.stat(os.path.join(d, "module.a")).st_mtime_ns, before)
        # Different compile flags are a different cache entry.
        env = dict(self.env, WF_W2C_CFLAGS="-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0")
        third = self.translate(wasm, env)
        self.assertEqual(third.returncode, 0, third.stderr)
        self.assertNotEqual(third.stdout.strip().splitlines()[-1], d)

    def test_rejects_non_wasm(self):
        bad = os.path.join(self.tmp, "bad.wasm")
        with open(bad, "wb") as f:
            f.write(b"#!/bin/sh\necho not wasm\n")
        p = self.translate(bad)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("step 'check inputs' failed", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "cache", "native")))

    def test_reports_wasm2c_failure(self):
        trunc = os.path.join(self.tmp, "trunc.wasm")
        with open(self.build_guest(), "rb") as f:
            data = f.read()
        with open(trunc, "wb") as f:
            f.write(data[: len(data) // 2])
        p = self.translate(trunc)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("step 'wasm2c' failed", p.stderr)
        self.assertEqual(os.listdir(os.path.join(self.tmp, "cache", "native")), [])

    def test_missing_file(self):
        p = self.translate(os.path.join(self.tmp, "nope.wasm"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no such file", p.stderr)


class PythonWasmProductTest(unittest.TestCase):
    """The cached python.wasm and stdlib.tar (make python-wasm)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = python_wasm_dir()
        with open(os.path.join(cls.dir, "stdlib.tar"), "rb") as f:
            cls.tar_bytes = f.read()
        cls.tar = tarfile.open(fileobj=io.BytesIO(cls.tar_bytes), mode="r:")
        cls.members = {m.name: m for m in cls.tar.getmembers()}

    @classmethod
    def tearDownClass(cls):
        cls.tar.close()

    def test_python_wasm_is_optimised_wasm(self):
        path = os.path.join(self.dir, "python.wasm")
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), b"\0asm\x01\0\0\0")
        size = os.path.getsize(path)
        # Unoptimised with DWARF it is about 20 MB; wasm-opt brings it to about 6 MB.
        self.assertGreater(size, 2_000_000)
        self.assertLess(size, 12_000_000)

    def test_imports_only_wasi_preview1(self):
        self.assertTrue(have("wasm-objdump"), "wasm-objdump missing (package wabt: make deps)")
        p = subprocess.run(["wasm-objdump", "-x", "-j", "Import", os.path.join(self.dir, "python.wasm")],
                           capture_output=True, text=True, check=True)
        imports = [l for l in p.stdout.splitlines() if "<- " in l]
        self.assertGreater(len(imports), 20)
        for line in imports:
            self.assertIn("<- wasi_snapshot_preview1.", line)

    def test_archive_is_plain_ustar(self):
        self.assertEqual(self.tar_bytes[257:263], b"ustar\0")
        for m in self.members.values():
            self.assertTrue(m.isfile() or m.isdir(), "%s is neither file nor folder" % m.name)
            self.assertFalse(m.name.startswith("/") or ".." in m.name.split("/"), m.name)
            self.assertTrue(m.name.startswith(("usr/", "tmp")) or m.name in ("usr", "tmp"), m.name)

    def test_stdlib_present(self):
        for name in ("usr/lib/python3.11/os.py", "usr/lib/python3.11/json/__init__.py",
                     "usr/lib/python3.11/encodings/utf_8.py", "usr/lib/python3.11/zoneinfo/__init__.py",
                     "usr/lib/python3.11/lib-dynload"):
            self.assertIn(name, self.members)
        sysconfig = [n for n in self.members if n.startswith("usr/lib/python3.11/_sysconfigdata_")]
        self.assertEqual(len(sysconfig), 1, sysconfig)

    def test_unneeded_parts_left_out(self):
        for prefix in ("test/", "idlelib/", "tkinter/", "turtledemo/", "ensurepip/", "lib2to3/", "venv/",
                       "distutils/"):
            path = "usr/lib/python3.11/" + prefix
            self.assertFalse([n for n in self.members if n.startswith(path)], path)

    def test_pyc_are_unchecked_hash_based(self):
        pyc = self.members.get("usr/lib/python3.11/json/__pycache__/__init__.cpython-311.pyc")
        self.assertIsNotNone(pyc)
        header = self.tar.extractfile(pyc).read(16)
        import importlib.util
        self.assertEqual(header[:4], importlib.util.MAGIC_NUMBER)
        # PEP 552 flags: bit 0 = hash based, bit 1 = check source. Unchecked: 0b01.
        self.assertEqual(int.from_bytes(header[4:8], "little"), 1)
        py = [n for n in self.members if n.endswith(".py") and n.startswith("usr/lib/python3.11/")]
        pycs = [n for n in self.members if n.endswith(".cpython-311.pyc")]
        self.assertGreater(len(py), 400)
        self.assertGreaterEqual(len(pycs), len(py) - 5)

    def test_zoneinfo_data(self):
        for name in ("usr/share/zoneinfo/UTC", "usr/share/zoneinfo/Europe/Berlin",
                     "usr/share/zoneinfo/America/New_York"):
            self.assertIn(name, self.members)
            data = self.tar.extractfile(self.members[name]).read(4)
            self.assertEqual(data, b"TZif")

    def test_build_logs_kept(self):
        self.assertTrue(os.path.exists(os.path.join(self.dir, "logs", "make.log")))


@require(have("node"), "node not installed")
class PythonWasmUnderNodeTest(unittest.TestCase):
    """Runs python.wasm under Node's WASI as an independent check of the build."""

    @classmethod
    def setUpClass(cls):
        cls.dir = python_wasm_dir()
        cls.tmp = tempfile.mkdtemp(prefix="wf-pyroot-")
        with tarfile.open(os.path.join(cls.dir, "stdlib.tar")) as t:
            t.extractall(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def python(self, code):
        runner = os.path.join(ROOT, "scripts", "wasm", "node-wasi-run.mjs")
        return subprocess.run(["node", "--no-warnings", runner, "--root", self.tmp, os.path.join(self.dir, "python.wasm"),
                               "-c", code], capture_output=True, text=True, timeout=120)

    def test_print(self):
        p = self.python("print(6 * 7)")
        self.assertEqual((p.returncode, p.stdout), (0, "42\n"), p.stderr)

    def test_stdlib_modules(self):
        code = ("import json, re, decimal, zlib, hashlib, unicodedata, zoneinfo, datetime, math\n"
                "print(json.dumps({'a': [1, 2]}), re.sub(r'\\d', 'x', 'a1b2'), decimal.Decimal('1.1') * 3)\n"
                "print(zlib.decompress(zlib.compress(b'abc' * 100)) == b'abc' * 100)\n"
                "print(hashlib.sha256(b'').hexdigest()[:16], unicodedata.name('\\u00e9'))\n"
                "tz = zoneinfo.ZoneInfo('Europe/Berlin')\n"
                "print(datetime.datetime(2024, 7, 1, 12, tzinfo=tz).utcoffset())\n")
        p = self.python(code)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines(), [
            '{"a": [1, 2]} axbx 3.3', "True", "e3b0c44298fc1c14 LATIN SMALL LETTER E WITH ACUTE", "2:00:00"])

    def test_uses_shipped_pyc(self):
        # The image's /usr is read-only to the guest; imports must come from the shipped .pyc.
        p = self.python("import json, sys; print(json.__cached__, sys.prefix)")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "/usr/lib/python3.11/json/__pycache__/__init__.cpython-311.pyc /usr\n")

    def test_no_threads_no_processes(self):
        p = self.python("import subprocess\ntry:\n subprocess.run(['ls'])\nexcept OSError as e:\n print(e.errno)")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "58")


# A host that gives the guest nothing: no arguments, no environment, no preopened folders, output
# only. CPython must then start, fail to find its standard library and say so through fd_write and
# proc_exit; that proves the compiled module links, instantiates and runs, without any VFS.
STUB_HOST_HEAD = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mod.h"
struct Z_wasi_snapshot_preview1_instance_t { Z_mod_instance_t *mod; };
static wasm_rt_memory_t *mem(struct Z_wasi_snapshot_preview1_instance_t *w) { return &w->mod->w2c_memory; }
static int span_ok(struct Z_wasi_snapshot_preview1_instance_t *w, u32 p, u32 n) {
    return (u64)p + n <= mem(w)->size;
}
static u32 put_u32(struct Z_wasi_snapshot_preview1_instance_t *w, u32 p, u32 v) {
    if (!span_ok(w, p, 4)) return 21;
    memcpy(mem(w)->data + p, &v, 4);
    return 0;
}
"""

STUB_BODIES = {
    "args_sizes_get": "return put_u32(w, a1, 0) | put_u32(w, a2, 0);",
    "environ_sizes_get": "return put_u32(w, a1, 0) | put_u32(w, a2, 0);",
    "args_get": "return 0;",
    "environ_get": "return 0;",
    "fd_prestat_get": "return 8;",
    "proc_exit": "fflush(stdout); exit((int)a1);",
    "random_get": "if (!span_ok(w, a1, a2)) return 21; for (u32 i = 0; i < a2; i++) mem(w)->data[a1 + i] = (u8)rand(); return 0;",
    "clock_time_get": ("struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts);"
                       " if (!span_ok(w, a3, 8)) return 21;"
                       " u64 t = (u64)ts.tv_sec * 1000000000u + (u64)ts.tv_nsec; memcpy(mem(w)->data + a3, &t, 8); return 0;"),
    "fd_write": ("if (a1 != 1 && a1 != 2) return 8; u32 total = 0;"
                 " for (u32 i = 0; i < a3; i++) { u32 base, len;"
                 "  if (!span_ok(w, a2 + 8 * i, 8)) return 21;"
                 "  memcpy(&base, mem(w)->data + a2 + 8 * i, 4); memcpy(&len, mem(w)->data + a2 + 8 * i + 4, 4);"
                 "  if (!span_ok(w, base, len)) return 21;"
                 "  if (write((int)a1, mem(w)->data + base, len) < 0) return 29; total += len; }"
                 " return put_u32(w, a4, total);"),
}


def stub_host(header):
    """C source implementing every import that mod.h declares (ENOSYS unless listed above)."""
    import re
    out = [STUB_HOST_HEAD]
    for m in re.finditer(r"^(u32|u64|void) Z_wasi_snapshot_preview1Z_(\w+)\(struct Z_wasi_snapshot_preview1_instance_t\*((?:, (?:u32|u64))*)\);$",
                         header, re.M):
        ret, name, params = m.group(1), m.group(2), [p.strip() for p in m.group(3).split(",") if p.strip()]
        args = "".join(", %s a%d" % (t, i + 1) for i, t in enumerate(params))
        body = STUB_BODIES.get(name, "return 52;" if ret != "void" else "")
        unused = "".join(" (void)a%d;" % (i + 1) for i in range(len(params)))
        out.append("%s Z_wasi_snapshot_preview1Z_%s(struct Z_wasi_snapshot_preview1_instance_t *w%s) {"
                   " (void)w;%s %s }" % (ret, name, args, unused, body))
    out.append("""int main(void) {
    static Z_mod_instance_t m;
    struct Z_wasi_snapshot_preview1_instance_t w = {&m};
    wasm_rt_init();
    Z_mod_init_module();
    Z_mod_instantiate(&m, &w);
    Z_modZ__start(&m);
    return 0;
}""")
    return "\n".join(out)


@require(have("node"), "node not installed")
class CPythonTestsUnderNodeTest(unittest.TestCase):
    """stdlib-tests.tar: CPython's own test modules run inside the guest."""

    def test_a_cpython_test_module_passes(self):
        d = python_wasm_dir()
        with tempfile.TemporaryDirectory(prefix="wf-pytests-") as root:
            with tarfile.open(os.path.join(d, "stdlib-tests.tar")) as t:
                t.extractall(root)
            self.assertTrue(os.path.exists(os.path.join(root, "usr/lib/python3.11/test/support/__init__.py")))
            runner = os.path.join(ROOT, "scripts", "wasm", "node-wasi-run.mjs")
            p = subprocess.run(["node", "--no-warnings", runner, "--root", root, os.path.join(d, "python.wasm"),
                                "-c", "import os, unittest; os.chdir('/tmp'); "  # tests write into the cwd
                                "unittest.main(module=None, argv=['python', 'test.test_base64'])"],
                               capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertRegex(p.stderr, r"Ran [1-9]\d* tests")
        self.assertIn("\nOK", p.stderr)


class EngineModuleProductTest(unittest.TestCase):
    """The cached native engine module (make engine-module)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = stamp_dir("engine-module.path", "module.a")
        if cls.dir is None:
            raise AssertionError("engine module not built (make engine-module)")

    def test_archive_and_header(self):
        with open(os.path.join(self.dir, "mod.h")) as f:
            h = f.read()
        self.assertIn("void Z_mod_instantiate(Z_mod_instance_t*, struct Z_wasi_snapshot_preview1_instance_t*);", h)
        self.assertIn("void Z_modZ__start(Z_mod_instance_t*);", h)
        self.assertIn("wasm_rt_memory_t* Z_modZ_memory(Z_mod_instance_t* instance);", h)
        p = subprocess.run(["nm", "--defined-only", os.path.join(self.dir, "module.a")],
                           capture_output=True, text=True, check=True)
        for sym in ("Z_mod_instantiate", "Z_mod_init_module", "Z_modZ__start", "Z_mod_free"):
            self.assertRegex(p.stdout, r"\bT %s\b" % sym)

    def test_cpython_starts_natively(self):
        with open(os.path.join(self.dir, "mod.h")) as f:
            src = stub_host(f.read())
        self.assertGreater(src.count("Z_wasi_snapshot_preview1Z_"), 30)
        with tempfile.TemporaryDirectory(prefix="wf-stubhost-") as tmp:
            with open(os.path.join(tmp, "host.c"), "w") as f:
                f.write(src)
            exe = os.path.join(tmp, "host")
            with open(os.path.join(self.dir, "cflags.txt")) as f:
                flags = f.read().split()
            subprocess.run(["gcc", *flags, "-I" + self.dir, os.path.join(tmp, "host.c"), RT_IMPL,
                            os.path.join(self.dir, "module.a"), "-lm", "-o", exe], check=True)
            p = subprocess.run([exe], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("Fatal Python error", p.stderr)
        self.assertIn("No module named 'encodings'", p.stderr)


if __name__ == "__main__":
    unittest.main()
