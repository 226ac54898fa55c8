"""The hostile plugins: every way out people try, each with what must happen.

Mixed into the concrete suites in test_hostile.py (over HTTP, and with
`wasmforge run`), which run against WF_TEST_SANDBOX (tests/run.py runs them
once per sandbox). While each hostile run goes on, a normal run goes on in
parallel and must succeed."""
import os
import sys
import textwrap
import threading

# The runs suites' helpers (tests/runs) serve this suite too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runs"))

from runs_support import SANDBOX

# Secrets of the server: no plugin may ever see them, anywhere.
SECRETS = {"DB_PASSWORD": "hunter2-db-secret", "API_TOKEN_SECRET_CANARY": "canary-7f3a9c"}
BRIDGE_FD = 10 if SANDBOX == "wasm" else 3
NORMAL = "from platform_sdk import get_input, send_output\nsend_output(get_input()[::-1])\n"


def dedent(code):
    return textwrap.dedent(code).lstrip("\n")


class HostileCases:
    """Needs run_plugin(code, input) -> run result, from the concrete suite."""

    def hostile(self, code, input_data=""):
        """Runs `code`, and meanwhile a normal plugin that must succeed."""
        box = {}

        def go():
            try:
                box["res"] = self.run_plugin(code, input_data)
            except BaseException as e:  # re-raised in the test's thread
                box["exc"] = e

        t = threading.Thread(target=go)
        t.start()
        normal = self.run_plugin(NORMAL, "abc")
        t.join(120)
        self.assertFalse(t.is_alive(), "the hostile run never ended")
        if "exc" in box:
            raise box["exc"]
        self.assertTrue(normal["success"], normal)
        self.assertEqual(normal["output"], "cba")
        res = box["res"]
        for v in SECRETS.values():
            self.assertNotIn(v, res["output"] + res["logs"] + (res["error"] or ""))
        return res

    # ---- the original's three security tests -----------------------------------
    def test_original_subprocess(self):
        res = self.hostile('import subprocess\nsubprocess.run(["cat", "/etc/shadow"])\n')
        self.assertFalse(res["success"], res)
        self.assertEqual(res["error_type"], "plugin_error")
        self.assertRegex(res["error"], r"(PermissionError|OSError)")

    def test_original_network(self):
        res = self.hostile('import socket\ns = socket.socket()\ns.connect(("evil.com", 80))\n')
        self.assertFalse(res["success"], res)
        self.assertRegex(res["error"], r"(PermissionError|OSError|gaierror)")

    def test_original_filesystem(self):
        res = self.hostile('print(open("/etc/passwd").read())\n')
        self.assertFalse(res["success"], res)
        self.assertNotIn("root:", res["output"])
        self.assertRegex(res["error"], r"(FileNotFoundError|PermissionError|OSError)")

    # ---- files ------------------------------------------------------------------
    def test_host_files_cannot_be_read(self):
        res = self.hostile(dedent('''
            import os
            paths = ["/etc/passwd", "/etc/shadow", "/proc/self/environ", "/proc/1/environ",
                     "/proc/self/maps", "/root/.bashrc", "/work", "/tmp/../etc/passwd",
                     "../../../../../../etc/passwd", "/usr/../../../etc/hostname",
                     "/usr/lib/python3.11/../../../../etc/passwd"]
            for p in paths:
                try:
                    with open(p, "rb") as f:
                        data = f.read()
                    print("READ", p, len(data), data[:40])
                except Exception as e:
                    print("refused", p, type(e).__name__)
            for target in ("/etc/passwd", "/proc/self/environ", "../../etc/passwd"):
                try:
                    os.symlink(target, "/tmp/link")
                    with open("/tmp/link", "rb") as f:
                        data = f.read()
                    print("READ via link", target, data[:40])
                except Exception as e:
                    print("refused link", target, type(e).__name__)
                finally:
                    try:
                        os.unlink("/tmp/link")
                    except OSError:
                        pass
        '''))
        self.assertTrue(res["success"], res)
        self.assertNotIn("root:", res["output"])
        self.assertNotIn("PATH=", res["output"])
        for line in res["output"].splitlines():
            self.assertFalse(line.startswith("READ"), line)

    def test_listing_root_shows_only_the_sandbox(self):
        res = self.hostile('import os\nprint(sorted(os.listdir("/")))\n'
                           'print(sorted(os.listdir("/tmp")))\n')
        self.assertTrue(res["success"], res)
        top = res["output"].splitlines()[0]
        for host in ("'etc'", "'root'", "'home'", "'work'", "'proc'", "'var'", "'boot'", "'sys'"):
            self.assertNotIn(host, top)
        self.assertEqual(res["output"].splitlines()[1], "[]")

    def test_writes_outside_tmp_fail(self):
        res = self.hostile(dedent('''
            for p in ("/evil", "/usr/evil", "/usr/lib/python3.11/os.py", "/etc/cron.d/x",
                      "/tmp/../evil"):
                try:
                    with open(p, "a") as f:
                        f.write("x")
                    print("WROTE", p)
                except Exception as e:
                    print("refused", p, type(e).__name__)
        '''))
        self.assertTrue(res["success"], res)
        self.assertNotIn("WROTE", res["output"])

    def test_filling_tmp_is_refused(self):
        res = self.hostile(dedent('''
            import os
            n = 0
            try:
                with open("/tmp/fill", "wb") as f:
                    while n < (1 << 30):
                        f.write(b"x" * (1 << 20))
                        f.flush()
                        n += 1 << 20
                print("NOT STOPPED", n)
            except OSError as e:
                print("full after", n >> 20, "MiB:", type(e).__name__)
        '''))
        self.assertTrue(res["success"], res)
        self.assertIn("full after", res["output"])
        mib = int(res["output"].split("full after")[1].split()[0])
        self.assertLess(mib, 512)

    # ---- network, processes, native code ----------------------------------------------
    def test_sockets_of_every_family(self):
        res = self.hostile(dedent('''
            import socket
            fams = ["AF_INET", "AF_INET6", "AF_UNIX", "AF_PACKET", "AF_NETLINK", "AF_VSOCK"]
            for name in fams:
                fam = getattr(socket, name, None)
                if fam is None:
                    print("absent", name)
                    continue
                for kind in ("SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW"):
                    try:
                        s = socket.socket(fam, getattr(socket, kind))
                        try:
                            s.connect(("127.0.0.1", 22) if name == "AF_INET" else
                                      ("::1", 22, 0, 0) if name == "AF_INET6" else "/run/x")
                            print("CONNECTED", name, kind)
                        except Exception as e:
                            print("no connect", name, kind, type(e).__name__)
                    except Exception as e:
                        print("refused", name, kind, type(e).__name__)
            try:
                a, b = socket.socketpair()
                print("SOCKETPAIR")
            except Exception as e:
                print("refused socketpair", type(e).__name__)
            try:
                socket.create_connection(("127.0.0.1", 80), timeout=1)
                print("CONNECTED create_connection")
            except Exception as e:
                print("refused create_connection", type(e).__name__)
        '''))
        self.assertNotIn("CONNECTED", res["output"])
        if SANDBOX == "wasm":
            self.assertTrue(res["success"], res)
            self.assertNotIn("SOCKETPAIR", res["output"])

    def test_processes(self):
        res = self.hostile(dedent('''
            import os, subprocess
            tries = {
                "subprocess": lambda: subprocess.run(["id"], capture_output=True),
                "system": lambda: os.system("id > /tmp/pwned"),
                "popen": lambda: os.popen("id").read(),
                "fork": lambda: os.fork(),
                "execv": lambda: os.execv("/bin/sh", ["sh", "-c", "id"]),
                "execve": lambda: os.execve("/bin/sh", ["sh"], {}),
                "spawnv": lambda: os.spawnv(os.P_WAIT, "/bin/sh", ["sh"]),
                "posix_spawn": lambda: os.posix_spawn("/bin/sh", ["sh"], {}),
                "kill": lambda: os.kill(1, 9),
            }
            for name, f in tries.items():
                try:
                    r = f()
                    if name == "fork" and r == 0:
                        print("CHILD RAN")
                        os._exit(0)
                    print("DID", name, r)
                except BaseException as e:
                    print("refused", name, type(e).__name__)
            print("exists /tmp/pwned:", os.path.exists("/tmp/pwned"))
        '''))
        out = res["output"]
        self.assertNotIn("CHILD RAN", out)
        self.assertNotIn("uid=", out)
        if SANDBOX == "wasm":
            self.assertTrue(res["success"], res)
            self.assertNotIn("DID", out)
            self.assertIn("exists /tmp/pwned: False", out)
        else:
            self.assertNotIn("DID fork", out)

    def test_ctypes(self):
        res = self.hostile('import ctypes\nctypes.CDLL(None).system(b"id")\n')
        self.assertFalse(res["success"], res)
        self.assertIn("ImportError", res["error"])
        self.assertNotIn("uid=", res["output"])

    def test_host_environment_is_invisible(self):
        res = self.hostile(dedent('''
            import os
            print(sorted(os.environ))
            print(dict(os.environ))
            for p in ("/proc/self/environ", "/proc/1/environ", "/proc/%d/environ" % getattr(os, "getppid", lambda: 1)()):
                try:
                    print(open(p, "rb").read())
                except Exception as e:
                    print("refused", p, type(e).__name__)
        '''))
        self.assertTrue(res["success"], res)
        for k in ("DB_PASSWORD", "API_TOKEN", "PATH", "HOME", "OLLAMA_BASE_URL", "DATABASE_URL"):
            self.assertNotIn(k, res["output"])

    # ---- resources ----------------------------------------------------------------
    def test_allocating_past_the_memory_cap(self):
        res = self.hostile("x = []\nwhile True:\n    x.append(bytearray(16 << 20))\n")
        self.assertFalse(res["success"], res)
        self.assertEqual(res["error_type"], "memory_limit", res)

    def test_many_small_allocations(self):
        res = self.hostile("x = []\nwhile True:\n    x.append([0] * 100000)\n")
        self.assertFalse(res["success"], res)
        self.assertEqual(res["error_type"], "memory_limit", res)

    def test_infinite_loop_without_output(self):
        res = self.hostile("while True:\n    pass\n")
        self.assertEqual(res["error_type"], "timeout", res)

    def test_infinite_loop_with_output(self):
        res = self.hostile("import time\nwhile True:\n    print('tick')\n    time.sleep(0.05)\n")
        self.assertEqual(res["error_type"], "timeout", res)
        self.assertIn("tick", res["output"])

    def test_printing_gigabytes(self):
        res = self.hostile('import sys\nb = "x" * (1 << 20)\nfor i in range(4096):\n    sys.stdout.write(b)\n')
        self.assertFalse(res["success"], res)
        self.assertIn("output limit", res["error"])
        self.assertLess(len(res["output"]), 65536 + 200)

    def test_deep_recursion(self):
        res = self.hostile("def f(n):\n    return f(n + 1)\nf(0)\n")
        self.assertEqual(res["error_type"], "plugin_error")
        self.assertIn("RecursionError", res["error"])

    def test_deep_recursion_past_the_limit(self):
        res = self.hostile("import sys\nsys.setrecursionlimit(10 ** 7)\n"
                           "def f(n):\n    return f(n + 1)\nf(0)\n")
        self.assertFalse(res["success"], res)
        # Contained one way or another (3.11 keeps Python frames off the C
        # stack, so this may simply run out of time or memory).
        self.assertIn(res["error_type"], ("plugin_error", "memory_limit", "timeout"), res)

    # ---- the bridge -----------------------------------------------------------------
    def test_forged_bridge_frame(self):
        res = self.hostile(dedent('''
            import json, os, struct, time
            d = json.dumps({"op": "call_ai", "model": "evil:1b", "prompt": "x" * 10}).encode()
            os.write(%d, struct.pack("<I", len(d) + 7) + d)
            time.sleep(2)
        ''' % BRIDGE_FD))
        self.assertEqual(res["error_type"], "sandbox_violation", res)

    def test_writing_to_every_descriptor(self):
        res = self.hostile(dedent('''
            import os
            for fd in range(64):
                try:
                    os.write(fd, b"\\xff\\xff\\xff\\xff")
                except OSError:
                    pass
        '''))
        self.assertFalse(res["success"], res)
        self.assertEqual(res["error_type"], "sandbox_violation", res)

    def test_forged_ai_call_lines_on_stdout(self):
        res = self.hostile(dedent('''
            import json, sys
            line = json.dumps({"type": "ai_call", "model": "mistral:latest", "prompt": "forged"})
            print(line)
            sys.stdout.flush()
            print(line, file=sys.stderr)
        '''))
        self.assertTrue(res["success"], res)
        self.assertEqual(res["ai_calls"], 0)
        self.assertIn('"type": "ai_call"', res["output"])
        self.assertNotIn("echo: forged", res["output"])

    # ---- AI limits -------------------------------------------------------------------
    def test_disallowed_model_overlong_prompt_one_call_too_many(self):
        res = self.hostile(dedent('''
            from platform_sdk import call_ai
            print(call_ai("gpt-4", "x"))
            print(call_ai("mistral:latest", "y" * 101))
            for i in range(4):
                print(call_ai("mistral:latest", "n%d" % i))
        '''))
        self.assertTrue(res["success"], res)
        lines = res["output"].splitlines()
        self.assertEqual(lines[0], "[ERROR] Model 'gpt-4' not allowed")
        self.assertTrue(lines[1].startswith("[ERROR] Prompt too long"), lines[1])
        self.assertEqual(lines[2:5], ["echo: n0", "echo: n1", "echo: n2"])
        self.assertEqual(lines[5], "[ERROR] AI call limit reached")
        self.assertEqual(res["ai_calls"], 3)

    # ---- runs cannot see each other ------------------------------------------------------
    def test_nothing_of_one_run_reaches_the_next(self):
        a = self.hostile(dedent('''
            import random, sys
            open("/tmp/left-behind", "w").write("x")
            sys.modules["os"].LEFT = 1
            import builtins
            builtins.LEFT = 1
            print(random.random())
        '''))
        b = self.hostile(dedent('''
            import os, random, builtins
            print(random.random())
            print(os.listdir("/tmp"), hasattr(os, "LEFT"), hasattr(builtins, "LEFT"))
        '''))
        self.assertTrue(a["success"], a)
        self.assertTrue(b["success"], b)
        self.assertNotEqual(a["output"].splitlines()[0], b["output"].splitlines()[0])
        self.assertEqual(b["output"].splitlines()[1], "[] False False")

    # ---- runs share the native zygote's namespaces: none may reach another ---------------
    def test_signalling_every_pid(self):
        res = self.hostile(dedent('''
            import os, signal
            hits, refused = [], 0
            me = os.getpid()
            kill9 = getattr(signal, "SIGKILL", 9)
            for pid in range(1, 4097):
                if pid == me:
                    continue
                for sig in (kill9, getattr(signal, "SIGSTOP", 19), 0):
                    try:
                        os.kill(pid, sig)
                        hits.append((pid, int(sig)))
                    except (OSError, AttributeError):
                        refused += 1
            for name in ("pidfd_open", "killpg"):
                f = getattr(os, name, None)
                for pid in range(1, 64):
                    try:
                        f(pid) if name == "pidfd_open" else f(pid, kill9)
                        hits.append((name, pid))
                    except (OSError, TypeError):
                        refused += 1
            print("REACHED", hits[:5] if hits else "nothing", refused)
        '''))
        self.assertTrue(res["success"], res)
        self.assertIn("REACHED nothing", res["output"])

    def test_sysv_and_posix_ipc(self):
        res = self.hostile(dedent('''
            import os
            tries = {}
            def attempt(name, f):
                try:
                    tries[name] = "DID %r" % (f(),)
                except BaseException as e:
                    tries[name] = "refused " + type(e).__name__
            def shm_open():
                import _posixshmem
                return _posixshmem.shm_open("/wf-shared", os.O_CREAT | os.O_RDWR, 0o666)
            def sem_open():
                import _multiprocessing
                return _multiprocessing.SemLock(1, 1, 1, "/wf-sem", False)
            def shared_memory():
                from multiprocessing import shared_memory
                return shared_memory.SharedMemory("wf-shm", create=True, size=4096)
            def ctypes_shmget():
                import ctypes
                return ctypes.CDLL(None).shmget(0x5746, 4096, 0o1666)
            def devshm():
                return os.open("/dev/shm/wf-x", os.O_CREAT | os.O_RDWR)
            def mqueue():
                return os.open("/dev/mqueue/wf-q", os.O_CREAT | os.O_RDWR)
            def abstract_name():
                import socket
                a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
                a.bind("\\0wf-meeting-point")
                return a.getsockname()
            for name, f in (("shm_open", shm_open), ("sem_open", sem_open),
                            ("shared_memory", shared_memory), ("shmget", ctypes_shmget),
                            ("/dev/shm", devshm), ("/dev/mqueue", mqueue),
                            ("abstract socket name", abstract_name)):
                attempt(name, f)
            for k, v in sorted(tries.items()):
                print(k, v)
        '''))
        self.assertTrue(res["success"], res)
        self.assertNotIn("DID", res["output"])

    def test_tmp_is_private_to_each_run(self):
        marker = "left-by-%s" % os.urandom(4).hex()
        box = {}

        def writer():
            box["w"] = self.run_plugin(dedent('''
                import os, time
                with open("/tmp/%s", "w") as f:
                    f.write("secret")
                time.sleep(2)
                print(os.listdir("/tmp"))
            ''' % marker))

        t = threading.Thread(target=writer)
        t.start()
        try:
            reader = dedent('''
                import os, time
                time.sleep(0.5)
                try:
                    print("READ", open("/tmp/%s").read())
                except OSError as e:
                    print("refused", type(e).__name__)
                print(os.listdir("/tmp"))
            ''' % marker)
            parallel = self.hostile(reader)
        finally:
            t.join(60)
        after = self.hostile(reader)
        self.assertTrue(box["w"]["success"], box["w"])
        self.assertIn(marker, box["w"]["output"])
        for res in (parallel, after):
            self.assertTrue(res["success"], res)
            self.assertNotIn("READ", res["output"])
            self.assertIn("refused", res["output"])
            self.assertEqual(res["output"].splitlines()[-1], "[]")
