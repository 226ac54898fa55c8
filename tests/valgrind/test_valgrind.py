"""Valgrind's memcheck over our C: every unit test binary of the plain build,
the real server through a representative HTTP flow (SQLite and PostgreSQL,
ending with SIGTERM while runs are in flight) and the command line, with no
memory errors and no definite or indirect leaks.

Plain build only (the `builds` attribute; tests/run.py collects these classes
in that pass): valgrind cannot run the ASan binaries of build-san/.

What is judged is valgrind's verdict on the process it starts: its exit code
(99 on any error, --error-exitcode) and the ERROR SUMMARY of that process's
log. A unit binary's own cases are counted by tests/run.py's plain run;
here they only have to run to their end (valgrind 3.19 does not know
pidfd_open, pidfd_send_signal or seccomp, so tests/unit/sandbox/test_zygote's
cases fail under it, and the binary still has to be clean). Forked children
are not checked (--child-silent-after-fork): in the unit tests they are
deliberate crashes (test_wasi_signals), in the server the few instructions
before an exec. The sandbox's processes are other programs (not traced).

The server runs the wasm sandbox: the native sandbox's set-up before its
exec (rlimits, seccomp) is emulated by valgrind, which refuses it.
"""
import glob
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from support.ollama_double import OllamaDouble
from support.server import (Server, base_env, binary, build_dir, pg_create_database,
                            pg_drop_database, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
EXIT_ON_ERROR = 99
SUPPRESSIONS = sorted(glob.glob(os.path.join(HERE, "*.supp")))
# Generous: memcheck is 20-50 times slower than the program alone.
UNIT_TIMEOUT = 900
HTTP_TIMEOUT = 300
IN_FLIGHT = 3  # runs still going when the server is told to stop


def valgrind_cmd(log_file, *extra):
    return ["valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", f"--error-exitcode={EXIT_ON_ERROR}",
            "--track-fds=no", "--child-silent-after-fork=yes", "--num-callers=30",
            *(f"--suppressions={s}" for s in SUPPRESSIONS),
            f"--log-file={log_file}", *extra]


def require_valgrind():
    if shutil.which("valgrind") is None:
        raise AssertionError("valgrind is not installed (scripts/deps/valgrind.txt; `make deps`)")


def verdict(log_dir, pid, code):
    """None when valgrind's process `pid` exited `code` clean, else why,
    with its report."""
    path = os.path.join(log_dir, f"vg.{pid}")
    try:
        with open(path, errors="replace") as f:
            report = f.read()
    except FileNotFoundError:
        return f"no valgrind log {path} (exit {code})"
    # Its own notes ("--PID-- WARNING: unhandled syscall", with four lines of
    # advice each) are not findings.
    report = "\n".join(l for l in report.splitlines() if not re.match(r"--\d+-- ", l))
    if code < 0:
        return f"ended by signal {-code}:\n{report[-20000:]}"
    m = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    if code == EXIT_ON_ERROR or m is None or m.group(1) != "0":
        return f"valgrind found errors (exit {code}):\n{report[-20000:]}"
    return None


def memcheck(argv, env, cwd, timeout):
    """Run argv under memcheck: (exit code, stdout and stderr as text, why
    it is not clean or None)."""
    with tempfile.TemporaryDirectory(prefix="wf-vg-") as d:
        p = subprocess.Popen(valgrind_cmd(os.path.join(d, "vg.%p"), "--trace-children=no",
                                          *argv),
                             cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            return -9, out.decode("utf-8", "replace"), f"not done within {timeout}s"
        out = out.decode("utf-8", "replace")
        why = verdict(d, p.pid, p.returncode)
        return p.returncode, out, why and f"{why}\n--- its output ---\n{out[-4000:]}"


class UnitBinaries(unittest.TestCase):
    """Each C unit test binary of build/tests/, start to end under memcheck."""
    builds = ("build",)

    def test_every_unit_binary_is_clean(self):
        require_valgrind()
        bins = sorted(p for p in glob.glob(os.path.join(build_dir(), "tests", "**", "test_*"),
                                           recursive=True)
                      if os.path.isfile(p) and os.access(p, os.X_OK))
        self.assertTrue(bins, f"no unit test binaries under {build_dir()}/tests "
                              "(`make test-unit-bins`)")
        env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
        for path in bins:
            name = os.path.relpath(path, os.path.join(build_dir(), "tests"))
            with self.subTest(binary=name):
                _, _, why = memcheck([path], env, os.path.dirname(build_dir()), UNIT_TIMEOUT)
                if why:
                    self.fail(f"{name}: {why}")


class CommandLine(unittest.TestCase):
    """`wasmforge run` (a plugin calling call_ai, in the sandbox), `check`,
    and a configuration error, under memcheck."""
    builds = ("build",)

    def setUp(self):
        require_valgrind()
        self.double = OllamaDouble()
        self.addCleanup(self.double.stop)
        self.tmp = tempfile.mkdtemp(prefix="wf-vg-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.env = base_env({"SANDBOX": "wasm", "OLLAMA_BASE_URL": self.double.start(),
                             "DATA_DIR": os.path.join(self.tmp, "data")})

    def wasmforge(self, *args, env=None):
        code, out, why = memcheck([binary(), *args], dict(self.env, **(env or {})), self.tmp,
                                  HTTP_TIMEOUT)
        if why:
            self.fail(f"wasmforge {' '.join(args)}: {why}")
        return code, out

    def test_run_check_and_a_bad_setting_are_clean(self):
        plugin = os.path.join(self.tmp, "hello.py")
        with open(plugin, "w") as f:
            f.write(PLUGIN)
        code, out = self.wasmforge("run", plugin, "--input", "a text")
        self.assertEqual(code, 0, out)
        self.assertIn("echo: Summarize: a text", out)
        code, out = self.wasmforge("check")
        self.assertEqual(code, 0, out)
        self.assertIn("ollama: ok", out)
        code, out = self.wasmforge("serve", env={"PORT": "not-a-port"})
        self.assertEqual(code, 2, out)
        self.assertIn("PORT", out)


PLUGIN = '''from platform_sdk import call_ai, get_input, send_output

text = get_input()
send_output({"answer": call_ai("mistral:latest", "Summarize: " + text), "n": len(text)})
'''
# The bridge's and the Ollama client's other paths: every answer the double
# can give wrong (configured per model in setUp), a model the double does not
# have, a refused one, the list.
FAULTY = {"gemma2:2b": "garbage", "qwen2.5:1.5b": "http500", "llava:7b": "drop_mid",
          "qwen2.5-coder:1.5b": "stream_error"}
ALLOWED = ("mistral:latest", "llama3.2:latest", *FAULTY, "phi3:mini")
TOUR = '''from platform_sdk import AIError, call_ai, list_models, send_output

out = {"models": len(list_models())}
out["chat"] = call_ai("llama3.2:latest", "hi", system="be brief", options={"temperature": 0})
for m in %r:
    out[m] = call_ai(m, "x").startswith("[ERROR]")
try:
    call_ai("nope:latest", "x", raise_on_error=True)
except AIError as e:
    out["raised"] = type(e).__name__
print("a log line")
send_output(out)
''' % ((*FAULTY, "phi3:mini", "nope:latest"),)
FAILING = '''from platform_sdk import get_input

raise ValueError("no good: " + get_input())
'''


class ServerFlow:
    """The server under memcheck through a representative flow, then
    SIGTERM: it must exit 0 with a clean report. Mixed into one class per
    store."""
    builds = ("build",)
    store = "sqlite"

    def setUp(self):
        require_valgrind()
        self.double = OllamaDouble(per_model={m: {"fault": f} for m, f in FAULTY.items()})
        self.addCleanup(self.double.stop)
        env = {"SANDBOX": "wasm", "OLLAMA_BASE_URL": self.double.start(),
               "MAX_PLUGIN_BYTES": "8192", "ALLOWED_MODELS": ",".join(ALLOWED),
               "API_TOKEN": "vg-token"}
        if self.store == "postgresql":
            pg_name, env["DATABASE_URL"] = pg_create_database("wf_vg")
            self.addCleanup(pg_drop_database, pg_name)
        self.logs = tempfile.mkdtemp(prefix="wf-vg-")
        self.addCleanup(shutil.rmtree, self.logs, True)
        self.srv = Server(env=env, wrap=valgrind_cmd(os.path.join(self.logs, "vg.%p"),
                                                     "--trace-children=no"))
        self.addCleanup(self.srv.cleanup)

    def ok(self, r, status=200):
        self.assertEqual(r.status, status, r)
        return r.json if r.body else None

    def test_flow_is_clean(self):
        s = self.srv
        t0 = time.monotonic()
        s.start(timeout=HTTP_TIMEOUT)
        kw = {"timeout": HTTP_TIMEOUT}

        health = self.ok(s.get("/health", **kw))
        self.assertTrue(health["sandbox_ok"], health)
        self.assertEqual(health["database"], self.store)
        self.ok(s.get("/health/ollama", **kw))
        self.ok(s.get("/api/models/list", **kw))

        self.assertEqual(self.ok(s.upload("vg_hello", PLUGIN, description="summarizes", **kw))
                         ["version"], 1)
        self.ok(s.upload("vg_fails", FAILING, **kw))
        names = [p["name"] for p in self.ok(s.get("/api/plugins/list", **kw))]
        self.assertIn("vg_hello", names)
        self.assertEqual(self.ok(s.get("/api/plugins/vg_hello/code", **kw))["code"], PLUGIN)

        run = self.ok(s.run("vg_hello", "a text", **kw))
        self.assertTrue(run["success"], run)
        self.assertEqual(run["result"], {"answer": "echo: Summarize: a text", "n": 6})
        bad = self.ok(s.run("vg_fails", "x", **kw))
        self.assertFalse(bad["success"], bad)
        self.ok(s.post_json("/api/plugins/run", {"plugin_name": "vg_hello", "input_data": "j"},
                            **kw))
        self.ok(s.upload("vg_tour", TOUR, **kw))
        tour = self.ok(s.run("vg_tour", "", **kw))
        self.assertTrue(tour["success"], tour)
        self.assertEqual(tour["result"]["raised"], "ModelNotAllowedError", tour)
        self.assertEqual([m for m in (*FAULTY, "phi3:mini", "nope:latest") if not tour["result"][m]],
                         [], tour)

        # Refusals: each has its own error path through the server.
        # A syntax error is stored, with a warning (as the original stored it).
        broken = self.ok(s.upload("vg_broken", "def f(:\n    pass\n", **kw))
        self.assertEqual(broken["warnings"][0]["line"], 1, broken)
        self.ok(s.upload("vg_big", "x = 1\n" * 2000, **kw), 413)
        self.ok(s.upload("bad\x01name", PLUGIN, **kw), 400)
        self.ok(s.request("POST", "/api/plugins/upload", body=b"--zzz\r\nnot a part at all",
                          headers={"Content-Type": "multipart/form-data; boundary=zzz"}, **kw),
                400)
        self.ok(s.request("POST", "/api/plugins/run", body=b"{not json",
                          headers={"Content-Type": "application/json"}, **kw), 400)
        self.ok(s.run("vg_nothing_here", "x", **kw), 404)
        self.ok(s.get("/api/plugins/list?limit=-3", **kw), 422)
        self.assertEqual(s.request("PUT", "/api/plugins/list", **kw).status, 405)
        self.ok(s.get("/api/runs/not-a-run-id", **kw), 404)
        self.ok(s.delete("/api/plugins/vg_fails", headers={"Authorization": "Bearer nope"}, **kw),
                401)
        self.assertEqual(s.options("/api/plugins/list", headers={"Origin": "http://x.test"},
                                   **kw).status // 100, 2)
        self.assertEqual(s.get("/", **kw).status, 200)
        self.assertEqual(s.request("HEAD", "/health", **kw).status, 200)

        runs = self.ok(s.get("/api/runs?plugin=vg_hello&limit=10", **kw))
        self.assertEqual(len(runs), 2, runs)
        one = self.ok(s.get(f"/api/runs/{run['run_id']}", **kw))
        self.assertEqual(one["run_id"], run["run_id"])
        self.ok(s.get("/api/runs", **kw))
        self.assertEqual(s.get("/metrics", **kw).status, 200)

        self.ok(s.delete("/api/plugins/vg_hello", **kw))
        self.ok(s.delete("/api/plugins/vg_hello", **kw), 404)
        self.ok(s.get("/api/plugins/vg_hello/code", **kw), 404)

        # SIGTERM with runs in flight (each waiting on a slow answer): the
        # drain, with several threads of the server at work.
        self.ok(s.upload("vg_slow", PLUGIN, **kw))
        self.double.configure(delay=1.0)
        self.double.clear_requests()
        answers = []
        runs = [threading.Thread(target=lambda: answers.append(s.run("vg_slow", "late", **kw)))
                for _ in range(IN_FLIGHT)]
        for t in runs:
            t.start()
        self.assertTrue(wait_for(lambda: len(self.double.requests()) >= IN_FLIGHT, HTTP_TIMEOUT),
                        self.double.requests())
        code = s.stop(timeout=HTTP_TIMEOUT, expect_code=None)
        for t in runs:
            t.join(HTTP_TIMEOUT)
        self.assertEqual([(a.status, a.json["success"]) for a in answers],
                         [(200, True)] * IN_FLIGHT, answers)
        why = verdict(self.logs, s.proc.pid, code)
        if why is None and code != 0:
            why = f"the server exited {code}; its log:\n{s.log()[-4000:]}"
        if why:
            self.fail(why)
        print(f"  ({self.store}: {time.monotonic() - t0:.1f}s under valgrind)", end=" ",
              flush=True)


class ServerFlowSqlite(ServerFlow, unittest.TestCase):
    store = "sqlite"


class ServerFlowPostgres(ServerFlow, unittest.TestCase):
    store = "postgresql"


if __name__ == "__main__":
    unittest.main()
