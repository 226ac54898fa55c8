"""WASI test programs (tests/wasi/programs/*.c) compiled to wasm32-wasi and
run through wasi-run: every WASI function group, its errors, and the escape
classes that broke other runtimes, checked from inside the sandbox."""
import os
import shutil
import subprocess
import tarfile
import tempfile
import unittest

from support.require import require

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("WF_BUILD", os.path.join(ROOT, "build"))
WASI_RUN = os.path.join(BUILD, "wasi-run")
PROGRAMS = os.path.join(ROOT, "tests", "wasi", "programs")
CLANG = shutil.which("clang-19")


def build_program(name):
    """Compiles programs/NAME.c once per build dir (again when the source
    changes). Debian's wasi-libc needs a sysroot made of links."""
    out_dir = os.path.join(BUILD, "wasi-programs")
    os.makedirs(out_dir, exist_ok=True)
    sysroot = os.path.join(out_dir, "sysroot")
    if not os.path.isdir(sysroot):
        tmp = sysroot + ".tmp%d" % os.getpid()
        os.makedirs(tmp, exist_ok=True)
        for d in ("include", "lib"):
            os.symlink("/usr/" + d, os.path.join(tmp, d))
        try:
            os.rename(tmp, sysroot)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    src = os.path.join(PROGRAMS, name + ".c")
    wasm = os.path.join(out_dir, name + ".wasm")
    if not os.path.exists(wasm) or os.path.getmtime(wasm) < os.path.getmtime(src):
        subprocess.run([CLANG, "--target=wasm32-wasi", "--sysroot=" + sysroot, "-O1",
                        "-Wall", "-Wno-infinite-recursion", src, "-o", wasm + ".tmp"],
                       check=True)
        os.replace(wasm + ".tmp", wasm)
    return wasm


@require(os.path.exists(WASI_RUN) and CLANG, "needs wasi-run and clang-19")
class WasiPrograms(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.suite = build_program("suite")
        cls.tmp = tempfile.mkdtemp(prefix="wf-wasi-")
        img = os.path.join(cls.tmp, "img")
        os.makedirs(os.path.join(img, "usr", "lib"))
        with open(os.path.join(img, "usr", "lib", "hello.txt"), "w") as f:
            f.write("hello image\n")
        cls.image = os.path.join(cls.tmp, "image.tar")
        with tarfile.open(cls.image, "w", format=tarfile.USTAR_FORMAT) as t:
            t.add(os.path.join(img, "usr"), arcname="usr")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_suite(self, *args, opts=(), stdin=None, timeout=120):
        cmd = [WASI_RUN, *opts, self.suite, *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=stdin if stdin is not None else subprocess.DEVNULL)

    def check_group(self, group, *args, opts=(), min_ok=1):
        p = self.run_suite(group, *args, opts=("--image", self.image, *opts))
        fails = [l for l in p.stdout.splitlines() if l.startswith("FAIL")]
        oks = [l for l in p.stdout.splitlines() if l.startswith("ok ")]
        self.assertEqual(fails, [], p.stdout + p.stderr)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertGreaterEqual(len(oks), min_ok, p.stdout)
        return p

    def test_escapes(self):
        self.check_group("escape", min_ok=18)

    def test_filesystem(self):
        self.check_group("fs", min_ok=23)

    def test_descriptors(self):
        p = self.check_group("fds", min_ok=12)
        self.assertIn("ok still_writing_after_renumber_self", p.stdout)

    def test_hostile_pointers_and_iovecs(self):
        self.check_group("iov", min_ok=14)

    def test_args_env_clocks_random_sockets(self):
        self.check_group("misc", "second arg", opts=("--env", "WF_TEST=yes=1"), min_ok=13)

    def test_out_of_bounds_is_a_trap(self):
        p = self.run_suite("oob")
        self.assertEqual(p.returncode, 125, p.stderr)
        self.assertIn("trap: Out-of-bounds", p.stderr)
        self.assertNotIn("not trapped", p.stdout)

    def test_runaway_recursion_is_a_trap(self):
        p = self.run_suite("recurse")
        self.assertEqual(p.returncode, 125, p.stderr)
        self.assertIn("trap:", p.stderr)

    def test_native_stack_exhaustion_is_a_trap(self):
        # Recursion that uses no linear memory: only the native stack runs
        # out, and the host's fault handler must turn that into a trap.
        wasm = os.path.join(self.tmp, "native_recursion.wasm")
        subprocess.run(["wat2wasm", os.path.join(PROGRAMS, "native_recursion.wat"), "-o", wasm],
                       check=True)
        p = subprocess.run([WASI_RUN, wasm], capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 125, p.stderr)
        self.assertIn("trap: Call stack exhausted", p.stderr)

    def test_memory_cap(self):
        small = self.run_suite("memory", opts=("--max-pages", "200"))
        self.assertEqual(small.returncode, 0, small.stderr)
        n_small = int(small.stdout.split()[1])
        self.assertLess(n_small, 13)            # 200 pages = 12.5 MiB
        big = self.run_suite("memory", opts=("--max-pages", "1000"))
        n_big = int(big.stdout.split()[1])
        self.assertGreater(n_big, 50)
        self.assertLess(n_big, 63)              # 1000 pages = 62.5 MiB
        refused = self.run_suite("memory", opts=("--max-pages", "1"))
        self.assertEqual(refused.returncode, 2)
        self.assertIn("cap is 1", refused.stderr)

    def test_output_cap_and_marker(self):
        p = self.run_suite("flood", opts=("--stdout-cap", "5000"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.endswith("\n[output truncated]\n"))
        self.assertEqual(len(p.stdout), 5000 + len("\n[output truncated]\n"))
        self.assertIn("flood done", p.stderr)

    def test_stdin_file(self):
        path = os.path.join(self.tmp, "in.txt")
        with open(path, "w") as f:
            f.write("line one\nline two\n")
        p = self.run_suite("cat", opts=("--stdin", path))
        self.assertEqual(p.stdout, "line one\nline two\n")

    def test_exit_codes(self):
        self.assertEqual(self.run_suite("exit", "42").returncode, 42)
        self.assertEqual(self.run_suite("exit", "0").returncode, 0)

    def make_hostdir(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        data = os.path.join(d, "data")
        os.makedirs(os.path.join(data, "sub"))
        with open(os.path.join(data, "inside.txt"), "w") as f:
            f.write("inside\n")
        os.symlink("/etc", os.path.join(data, "evil"))
        return data

    def test_host_dir_confined(self):
        data = self.make_hostdir()
        p = self.run_suite("hostdir", "/data", opts=("--dir", data + "::/data"))
        self.assertNotIn("FAIL", p.stdout, p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(data, "new.txt")) as f:
            self.assertEqual(f.read(), "new\n")
        self.assertFalse(os.path.exists(os.path.join(data, "link_out")))

    def test_host_dir_read_only(self):
        data = self.make_hostdir()
        p = self.run_suite("hostdir", "/data", "ro", opts=("--dir", data + "::/data:ro"))
        self.assertNotIn("FAIL", p.stdout, p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertFalse(os.path.exists(os.path.join(data, "new.txt")))


def python_wasm():
    stamp = os.path.join(BUILD, "engine", "python-wasm.path")
    if not os.path.exists(stamp):
        stamp = os.path.join(ROOT, "build", "engine", "python-wasm.path")
    if not os.path.exists(stamp):
        return None
    with open(stamp) as f:
        d = f.read().strip()
    if os.path.exists(os.path.join(d, "python.wasm")) and os.path.exists(os.path.join(d, "stdlib.tar")):
        return d
    return None


@require(os.path.exists(WASI_RUN) and python_wasm(), "needs wasi-run and python.wasm")
class CPythonOnTheHost(unittest.TestCase):
    def run_py(self, code, *opts):
        d = python_wasm()
        return subprocess.run([WASI_RUN, "--image", os.path.join(d, "stdlib.tar"), *opts,
                               os.path.join(d, "python.wasm"), "-c", code],
                              capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)

    def test_listdir_root_and_tmp(self):
        p = self.run_py("import os\n"
                        "print(sorted(os.listdir('/')))\n"
                        "open('/tmp/x','w').write('y')\n"
                        "print(open('/tmp/x').read())\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "['tmp', 'usr']\ny\n")

    def test_readonly_stdlib_and_no_host_files(self):
        p = self.run_py("import os\n"
                        "for path, mode in (('/usr/lib/python3.11/os.py', 'w'), ('/etc/passwd', 'r')):\n"
                        "    try:\n"
                        "        open(path, mode)\n"
                        "    except OSError as e:\n"
                        "        print(e.errno)\n")
        self.assertEqual(p.stdout.split(), ["69", "44"], p.stderr)

    def test_memory_error_under_the_cap(self):
        p = self.run_py("try:\n"
                        "    x = bytearray(400 * 1024 * 1024)\n"
                        "except MemoryError:\n"
                        "    print('MemoryError')\n", "--max-pages", "4000")
        self.assertEqual(p.stdout.strip(), "MemoryError", p.stderr)


if __name__ == "__main__":
    unittest.main()
