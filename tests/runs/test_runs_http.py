"""Plugin runs over HTTP against the real server and the real sandbox
(WF_TEST_SANDBOX, native by default): the run behaviours, run history,
upload checks, many runs at once, a run killed from outside, shutdown with
runs in flight; which SDK a run gets, from a zygote or without one."""
import ast
import concurrent.futures
import json
import os
import select
import shutil
import signal
import tempfile
import threading
import unittest

from support.ollama_double import OllamaDouble, closed_port_url
from support.server import ROOT, Server, build_dir, wait_for

from behaviour import RunBehaviour
from runs_support import (LIMITS, SANDBOX, HttpRunsCase, native_zygotes, run_fds,
                          sandbox_pids, require_plugin_api)


class HttpRuns(HttpRunsCase, RunBehaviour):
    def test_health_names_the_sandbox(self):
        h = self.server.get("/health").json
        self.assertEqual(h["sandbox"], LIMITS["SANDBOX"])
        self.assertEqual(h["wasmedge"], LIMITS["SANDBOX"] == "wasm")
        self.assertIs(h["sandbox_ok"], True)
        self.assertTrue(h["sandbox_detail"])
        if LIMITS["SANDBOX"] == "native":
            self.assertIn("namespaces (mount, pid, net", h["sandbox_detail"])

    def test_upload_syntax_error_has_line_and_column(self):
        r = self.server.upload("broken", "x = 1\ny = (\n")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["warnings"][0]["line"], 2, r)
        self.assertIn("line 2", r.json["warnings"][0]["detail"])

    def test_run_history(self):
        res = self.run_plugin("from platform_sdk import get_input\nprint(get_input())\n",
                              "remember me", name="hist_plugin")
        one = self.server.get("/api/runs/" + res["run_id"])
        self.assertEqual(one.status, 200, one)
        self.assertEqual(one.json["input_data"], "remember me")
        self.assertEqual(one.json["output"], "remember me")
        self.assertEqual(one.json["stdout"], "remember me\n")
        self.assertTrue(one.json["success"])
        lst = self.server.get("/api/runs?plugin=hist_plugin&limit=5").json
        self.assertEqual(lst[0]["run_id"], res["run_id"])

    def test_run_killed_from_outside(self):
        r = self.server.upload("victim", "import time\nprint('started', flush=True)\ntime.sleep(30)\n")
        self.assertEqual(r.status, 200)
        box = {}
        t = threading.Thread(target=lambda: box.setdefault("r", self.server.run("victim", timeout=60)))
        t.start()
        pids = wait_for(lambda: sandbox_pids(self.server.proc.pid), 10)
        self.assertTrue(pids)
        for p in pids:
            os.kill(p, signal.SIGKILL)
        t.join(30)
        res = box["r"].json
        self.assertFalse(res["success"])
        self.assertEqual(res["error_type"], "plugin_error")
        self.assertIn("signal 9", res["error"])
        self.assertEqual(self.server.get("/health").status, 200)

class HttpRunsConcurrency(HttpRunsCase):
    """Many runs at once. What these check is that every run is answered
    right, not how fast: their runs get a run time limit far above what
    they need, so that a machine busy with other work (2 cores, a load of
    10) cannot turn them into timeouts. The limits themselves are
    checked by HttpRuns, with the suite's small ones."""
    extra_env = dict(LIMITS, MAX_EXECUTION_TIME="120")

    def test_many_runs_at_once(self):
        r = self.server.upload("par", "from platform_sdk import get_input\nprint(get_input())\n")
        self.assertEqual(r.status, 200, r)
        pid = self.server.proc.pid
        fds_before = run_fds(pid)

        def one(i):
            r = self.server.run("par", "run-%d" % i, timeout=120)
            return i, r

        with concurrent.futures.ThreadPoolExecutor(max_workers=64) as ex:
            results = list(ex.map(one, range(200)))
        for i, r in results:
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.json["success"], r.json)
            self.assertEqual(r.json["output"], "run-%d" % i)
        self.assertEqual(len({r.json["run_id"] for _, r in results}), 200)
        self.assertEqual(wait_for(lambda: not sandbox_pids(pid), 10), True)
        self.assertTrue(wait_for(lambda: run_fds(pid) <= fds_before, 10),
                        (fds_before, run_fds(pid)))

    def test_health_stays_fast_while_runs_wait(self):
        self.double.configure(delay=2)
        code = 'from platform_sdk import call_ai\nprint(call_ai("mistral:latest", "x"))\n'
        self.assertEqual(self.server.upload("waiter", code).status, 200)
        before = len(self.double.requests("/api/generate"))
        with concurrent.futures.ThreadPoolExecutor(max_workers=30) as ex:
            futs = [ex.submit(self.server.run, "waiter", "", timeout=60) for _ in range(30)]
            # /health must answer while every run still waits on its AI
            # call: order, not time, so a slow machine cannot fail it.
            self.assertTrue(wait_for(lambda: len(self.double.requests("/api/generate")) > before, 30))
            h = self.server.get("/health")
            none_done = not any(f.done() for f in futs)
            results = [f.result() for f in futs]
        self.assertEqual(h.status, 200)
        self.assertTrue(none_done, "a run finished before /health answered")
        for r in results:
            self.assertEqual(r.json["output"], "echo: x", r.json)


# Prints the run's platform_sdk as {name: first line of its code, or None}:
# a missing SDK fails the run, and another version of it (a zygote's stale
# copy, the built-in one where SDK_PATH names another) shows other names or
# lines.
SDK_SHAPE = ("import json, platform_sdk\n"
             "print(json.dumps({k: getattr(getattr(v, '__code__', None), 'co_firstlineno', None)\n"
             "                  for k, v in vars(platform_sdk).items()\n"
             "                  if not k.startswith('__')}, sort_keys=True))\n")


def sdk_shape(source):
    """What SDK_SHAPE prints in a run whose SDK is `source`."""
    shape = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            shape[node.name] = min([node.lineno] + [d.lineno for d in node.decorator_list])
        elif isinstance(node, ast.ClassDef):
            shape[node.name] = None
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                shape[(a.asname or a.name).split(".")[0]] = None
        elif isinstance(node, ast.Assign):
            shape.update((t.id, None) for t in node.targets if isinstance(t, ast.Name))
    return {k: v for k, v in shape.items() if not k.startswith("__")}


with open(os.path.join(ROOT, "sdk", "platform_sdk.py")) as _f:
    BUILT_IN_SDK = _f.read()


class SdkChecks:
    """What a run's SDK must be, asked of the server of the class."""

    def assertSdk(self, source):
        res = self.run_plugin(SDK_SHAPE)
        self.assertTrue(res["success"], res)
        self.assertEqual(json.loads(res["output"]), sdk_shape(source))

    def assertBuiltInSdkWorks(self):
        self.assertSdk(BUILT_IN_SDK)
        res = self.run_plugin("from platform_sdk import get_input, send_output\n"
                              "send_output(get_input().upper())\n", "abc")
        self.assertTrue(res["success"], res)
        self.assertEqual(res["result"], "ABC")


class HttpRunsSdk(HttpRunsCase, SdkChecks):
    """The built-in SDK as every run sees it (both sandboxes' zygotes execute
    it once, before any run): fresh in each run, its source in tracebacks."""

    def test_sdk_is_the_built_in_one(self):
        self.assertBuiltInSdkWorks()

    def test_sdk_is_fresh_in_every_run(self):
        first = self.run_plugin("import platform_sdk, _wf_bridge\n"
                                "platform_sdk.MARK = 1\n_wf_bridge.MARK = 1\n"
                                "platform_sdk.send_output('first')\n", name="sdk_mark")
        self.assertTrue(first["success"], first)
        self.assertEqual(first["result"], "first")
        second = self.run_plugin("import platform_sdk, _wf_bridge\n"
                                 "print(hasattr(platform_sdk, 'MARK'), hasattr(_wf_bridge, 'MARK'))\n"
                                 "print(platform_sdk.get_input())\n", "two", name="sdk_check")
        self.assertTrue(second["success"], second)
        self.assertEqual(second["output"], "False False\ntwo")
        self.assertIsNone(second["result"])

    def test_sdk_frames_show_their_source(self):
        res = self.run_plugin("from platform_sdk import call_ai\ncall_ai(1, 'x')\n")
        self.assertFalse(res["success"], res)
        self.assertEqual(res["error_type"], "plugin_error")
        self.assertIn('File "platform_sdk.py"', res["error"])
        self.assertIn("raise TypeError(", res["error"])
        self.assertIn("TypeError: model must be str or None, not int", res["error"])


CUSTOM_SDK = '''import _wf_bridge

WASMFORGE_BRIDGE = 1


def get_input():
    return "custom:" + _wf_bridge.get_input()


def send_output(value):
    print(str(value), flush=True)
    _wf_bridge.set_result(value)
'''


class OwnFilesCase(HttpRunsCase):
    """A server given files of the test's own, in a folder made for the
    class below the build folder (the native zygote's view is assembled on
    a tmpfs at /tmp: nothing under /tmp can be bound into it).
      sdk:         SDK_PATH's contents (None: the built-in SDK);
      engine_dir:  WF_ENGINE_DIR is that folder (native sandbox only), with
                   a copy of the native zygote's module when with_zygote,
                   else without (then each run is a python3 of its own)."""
    sdk = None
    engine_dir = False
    with_zygote = False

    @classmethod
    def setUpClass(cls):
        if cls.engine_dir and SANDBOX != "native":
            # tests/run.py does not collect these classes in the other pass
            # (their `sandboxes`); this is for a suite started by hand.
            raise unittest.SkipTest("only the native sandbox starts runs without a zygote")
        # Not below /tmp (a clone may live there): the native zygote's view has
        # a /tmp of its own, so nothing under the host's /tmp reaches it.
        base = build_dir()
        if os.path.realpath(base).startswith("/tmp/"):
            base = "/var/tmp"
        cls.dir = tempfile.mkdtemp(prefix="runs-test-", dir=base)
        cls.extra_env = dict(LIMITS)
        if cls.sdk is not None:
            cls.extra_env["SDK_PATH"] = os.path.join(cls.dir, "platform_sdk.py")
            with open(cls.extra_env["SDK_PATH"], "w") as f:
                f.write(cls.sdk)
        if cls.engine_dir:
            cls.extra_env["WF_ENGINE_DIR"] = cls.dir
            if cls.with_zygote:
                shutil.copy(os.path.join(build_dir(), "wf-native-zygote.so"), cls.dir)
        try:
            super().setUpClass()
        except BaseException:
            shutil.rmtree(cls.dir, True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.dir, True)

    def assertPerRun(self):
        detail = self.server.get("/health").json["sandbox_detail"]
        self.assertIn("one python3 per run", detail)
        self.assertFalse(native_zygotes(self.server.proc.pid))


class HttpRunsCustomSdk(OwnFilesCase, SdkChecks):
    """SDK_PATH replaces the built-in SDK, also where the zygote has the
    built-in one ready."""
    sdk = CUSTOM_SDK

    def test_custom_sdk_is_used(self):
        res = self.run_plugin("from platform_sdk import get_input, send_output\n"
                              "send_output(get_input())\n", "x")
        self.assertTrue(res["success"], res)
        self.assertEqual(res["output"], "custom:x")
        self.assertEqual(res["result"], "custom:x")
        res = self.run_plugin("import platform_sdk\nprint(hasattr(platform_sdk, 'call_ai'))\n")
        self.assertEqual(res["output"], "False", res)
        self.assertSdk(CUSTOM_SDK)


class HttpRunsPerRunSdk(OwnFilesCase, SdkChecks):
    """The native sandbox's per-run mode gets the SDK in each request."""
    engine_dir = True
    sandboxes = ("native",)  # tests/run.py collects them in that pass only

    def test_per_run_gets_the_built_in_sdk(self):
        self.assertPerRun()
        self.assertBuiltInSdkWorks()


class HttpRunsPerRunCustomSdk(OwnFilesCase, SdkChecks):
    engine_dir = True
    sandboxes = ("native",)  # tests/run.py collects them in that pass only
    sdk = CUSTOM_SDK

    def test_per_run_gets_the_custom_sdk(self):
        self.assertPerRun()
        self.assertSdk(CUSTOM_SDK)
        res = self.run_plugin("from platform_sdk import get_input, send_output\n"
                              "send_output(get_input())\n", "x")
        self.assertEqual(res["result"], "custom:x", res)


class HttpRunsZygoteLost(OwnFilesCase, SdkChecks):
    """The native zygote is lost mid-life and cannot be started again: the
    next runs start python3 themselves, and get the SDK in their request."""
    engine_dir = True
    sandboxes = ("native",)  # tests/run.py collects them in that pass only
    with_zygote = True

    def test_runs_after_the_zygote_is_lost(self):
        zygotes = native_zygotes(self.server.proc.pid)
        self.assertEqual(len(zygotes), 1, self.server.get("/health").json)
        self.assertBuiltInSdkWorks()
        # A module that no longer loads (a new file: the running zygote
        # keeps the old one), then the zygote gone: it cannot start again.
        module = os.path.join(self.dir, "wf-native-zygote.so")
        with open(module + ".new", "wb") as f:
            f.write(b"not a shared object")
        os.replace(module + ".new", module)
        # Wait for its end (its pidfd readable: every descriptor closed),
        # not for it to leave /proc, which comes earlier.
        pidfd = os.pidfd_open(zygotes[0])
        try:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            self.assertTrue(select.select([pidfd], [], [], 10)[0])
        finally:
            os.close(pidfd)
        self.assertBuiltInSdkWorks()
        self.assertIn("starting this run without the zygote", self.server.log())
        self.assertFalse(native_zygotes(self.server.proc.pid))


class HttpQueueFull(HttpRunsCase):
    # The slow run sleeps 3 s: a limit well above that, so a loaded machine
    # cannot make it a timeout.
    extra_env = dict(LIMITS, MAX_CONCURRENT_RUNS="1", MAX_QUEUED_RUNS="1",
                     MAX_EXECUTION_TIME="60")

    def test_full_queue_answers_429(self):
        self.assertEqual(self.server.upload("slowq", "import time\ntime.sleep(3)\n").status, 200)

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
            # One run takes the only slot; only then can the queue's one
            # place and the refusals be told apart, however slow the machine.
            futs = [ex.submit(self.server.run, "slowq", "", timeout=60)]
            self.assertTrue(wait_for(lambda: self.server.gauge("wasmforge_runs_running") == 1, 30))
            futs += [ex.submit(self.server.run, "slowq", "", timeout=60) for _ in range(3)]
            results = [f.result() for f in futs]
        statuses = sorted(r.status for r in results)
        self.assertIn(429, statuses, results)
        self.assertGreaterEqual(statuses.count(200), 2, results)
        for r in results:
            if r.status == 429:
                self.assertTrue(r.json["detail"])
            else:
                self.assertTrue(r.json["success"], r.json)


class HttpRunsOllamaDown(HttpRunsCase):
    with_double = False
    extra_env = dict(LIMITS, OLLAMA_BASE_URL=closed_port_url())

    def test_ollama_down(self):
        res = self.run_plugin('from platform_sdk import call_ai, list_models\n'
                              'print(call_ai("mistral:latest", "x"))\nprint(list_models())\n')
        self.assertTrue(res["success"], res)
        lines = res["output"].splitlines()
        self.assertTrue(lines[0].startswith("[ERROR] "), lines)
        self.assertEqual(lines[1], "[]")


class HttpShutdown(unittest.TestCase):
    def serve(self, **env):
        """A server of its own, with an Ollama double; both end with the test."""
        double = OllamaDouble()
        srv = Server(env=dict(LIMITS, OLLAMA_BASE_URL=double.start(), **env))
        self.addCleanup(double.stop)
        self.addCleanup(srv.cleanup)
        srv.start()
        return srv, double

    @staticmethod
    def sigterm_while_running(srv, name, n):
        """n runs of `name`, SIGTERM once their sandboxes are up; their answers."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
            futs = [ex.submit(srv.run, name, "", timeout=60) for _ in range(n)]
            wait_for(lambda: len(sandbox_pids(srv.proc.pid)) >= n, 10)
            srv.proc.send_signal(signal.SIGTERM)
            return [f.result() for f in futs]

    def test_sigterm_lets_runs_finish(self):
        srv, _ = self.serve(SHUTDOWN_GRACE="20")
        require_plugin_api(
            srv.upload("slow", "import time\ntime.sleep(2)\nprint('finished')\n"))
        server_pid = srv.proc.pid
        results = self.sigterm_while_running(srv, "slow", 5)
        for r in results:
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.json["success"], r.json)
            self.assertEqual(r.json["output"], "finished")
        self.assertEqual(srv.stop(), 0)
        self.assertFalse(sandbox_pids(server_pid))

    def assert_cut_short(self, results):
        for r in results:
            self.assertEqual(r.status, 200, r)
            self.assertFalse(r.json["success"])
            self.assertEqual(r.json["error_type"], "runtime_error")
            self.assertIn("cut short", r.json["error"])

    def test_sigterm_cuts_long_runs_short_and_answers(self):
        srv, _ = self.serve(SHUTDOWN_GRACE="1", MAX_EXECUTION_TIME="30")
        self.assertEqual(srv.upload("forever", "import time\ntime.sleep(20)\n").status, 200)
        server_pid = srv.proc.pid
        results = self.sigterm_while_running(srv, "forever", 3)
        self.assert_cut_short(results)
        self.assertEqual(srv.stop(), 0)
        self.assertFalse(sandbox_pids(server_pid))

    def test_sigterm_does_not_wait_for_ai_calls(self):
        # The model takes far longer than the stop is given: the process must
        # not stay up until Ollama answers or the run's deadline passes.
        srv, double = self.serve(SHUTDOWN_GRACE="1", MAX_EXECUTION_TIME="300")
        self.assertEqual(srv.upload("asks", 'from platform_sdk import call_ai\n'
                                            'print(call_ai("mistral:latest", "hi"))\n').status, 200)
        double.configure(delay=600, fault_paths=["/api/generate", "/api/chat"])
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
            futs = [ex.submit(srv.run, "asks", "", timeout=120) for _ in range(2)]
            self.assertTrue(wait_for(lambda: len([r for r in double.requests()
                                                  if r["path"] == "/api/generate"]) >= 2, 30))
            srv.proc.send_signal(signal.SIGTERM)
            results = [f.result() for f in futs]
        self.assert_cut_short(results)
        self.assertEqual(srv.stop(timeout=60), 0)

if __name__ == "__main__":
    unittest.main()
