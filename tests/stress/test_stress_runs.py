"""Stress on the run pipeline and the HTTP server around it: one server takes,
all at once, many short runs, runs waiting on a slow AI, runs that time out,
runs flooding their output, runs breaking the bridge, clients hanging up
mid-run, plugins deleted while they run and a queue that overflows; then
SIGTERM with runs in flight. Every answer must have a documented shape and
status, the server must stay up, drain and exit 0, and (in the sanitizer
build) leave no ASan/UBSan/LSan report in its log.

Bounded by work, not time: WF_STRESS_SCALE (default 1) multiplies the number
of requests; WF_STRESS_SEED fixes the mix (printed on failure)."""
import concurrent.futures
import http.client
import os
import random
import re
import signal
import socket
import struct
import threading
import time
import unittest
from urllib.parse import urlencode

from support.ollama_double import OllamaDouble
from support.server import SAN_MARKERS, Server, sanitizer_reports, wait_for

SCALE = float(os.environ.get("WF_STRESS_SCALE", "1"))
SLOTS = 64
ENV = {
    "ALLOWED_MODELS": "mistral:latest,llama3.2:latest,gemma2:2b",
    "MAX_EXECUTION_TIME": "4",
    "MAX_MEMORY_MB": "128",
    "MAX_OUTPUT_BYTES": "16384",
    "MAX_AI_CALLS_PER_EXECUTION": "3",
    "MAX_PROMPT_LENGTH": "100",
    "MAX_CONCURRENT_RUNS": str(SLOTS),
    "MAX_QUEUED_RUNS": "32",
    "SHUTDOWN_GRACE": "1",
}
# llama3.2 answers slowly, gemma2 only after the run's deadline.
DOUBLE = {"per_model": {"llama3.2:latest": {"delay": 0.4}, "gemma2:2b": {"delay": 8}}}

# The descriptor the runner is told is its bridge (see tests/runs/behaviour.py).
BRIDGE_FD = 10 if os.environ.get("WF_TEST_SANDBOX") == "wasm" else 3

ABANDON = ("import json, os\n"
           "b = json.dumps({'op': 'call_ai', 'model': 'llama3.2:latest', 'prompt': 'x'}).encode()\n"
           f"os.write({BRIDGE_FD}, len(b).to_bytes(4, 'little') + b)")

PLUGINS = {
    "s_echo": "from platform_sdk import get_input\nprint(get_input())\n",
    # Sleeps until the instant given as input, then writes and ends: a
    # burst of these ends together, so that the event loop gets the exits
    # and end-of-file of many runs in one batch, more than one epoll_wait
    # returns, in an order that mixes runs.
    "s_barrier": "import sys, time\nfrom platform_sdk import get_input\n"
                 "time.sleep(max(0.0, float(get_input()) - time.time()))\n"
                 "sys.stdout.write('o' * 3000)\nsys.stderr.write('e' * 3000)\n",
    "s_result": "from platform_sdk import get_input, send_output\n"
                "send_output({'in': get_input(), 'n': [1, 2]})\n",
    "s_ai": "from platform_sdk import call_ai, get_input\n"
            "print(call_ai('llama3.2:latest', get_input()))\n"
            "print(call_ai('mistral:latest', 'b'))\n",
    "s_ai_late": "from platform_sdk import call_ai\nprint(call_ai('gemma2:2b', 'x'))\n",
    "s_models": "from platform_sdk import list_models\nprint(sorted(list_models()))\n",
    "s_ai_refused": "from platform_sdk import call_ai\n"
                    "for _ in range(5):\n    print(call_ai('mistral:latest', 'y'))\n",
    "s_sleep": "import time\nprint('started', flush=True)\ntime.sleep(60)\n",
    "s_nap": "import time\ntime.sleep(0.5)\nprint('late')\n",
    "s_flood": "import sys\nwhile True:\n    sys.stdout.write('x' * 4096)\n",
    "s_flood_err": "import sys\nwhile True:\n    sys.stderr.write('e' * 4096)\n",
    "s_crash": "print('before')\nraise ValueError('boom')\n",
    "s_garbage": f"import os\nos.write({BRIDGE_FD}, b'\\x05\\x00\\x00\\x00hello')\n"
                 "import time\ntime.sleep(2)\n",
    # An AI request written past the SDK, then the run ends (or breaks the
    # bridge) without waiting for the answer: the call outlives the run.
    "s_ai_abandon": ABANDON + "\n",
    "s_ai_violate": ABANDON + f"\nos.write({BRIDGE_FD}, b'\\x01\\x00\\x00\\x00[')\n",
}
ERROR_TYPES = {None, "plugin_error", "timeout", "sandbox_violation", "runtime_error",
               "memory_limit"}
RESULT_TYPES = {"success": bool, "output": str, "stdout": str, "logs": str, "run_id": str, "plugin": str,
                "version": int, "ai_calls": int, "duration_ms": int, "started_at": str}
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# Connection errors a client may see once the server is shutting down.
GONE = (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine,
        socket.timeout)


def fan_out(fns, n=None):
    """Call fns (a list, or one function n times) at once, each on a thread
    of its own; their results in order, or the first exception raised."""
    fns = [fns] * n if n is not None else list(fns)
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(fns)) as ex:
        futs = [ex.submit(f) for f in fns]
        return [f.result() for f in futs]


class Tally:
    """Counts of what came back, by kind, for the failure messages."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.run_ids = []

    def add(self, key, run_id=None):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            if run_id:
                self.run_ids.append(run_id)


class StressRuns(unittest.TestCase):
    def setUp(self):
        self.seed = int(os.environ.get("WF_STRESS_SEED") or random.randrange(1 << 30))
        self.double = OllamaDouble(**DOUBLE)
        # TSAN_OPTIONS too, for a ThreadSanitizer build run by hand
        # (`make TSAN=1 server`, then WF_BUILD=.../build-tsan).
        self.srv = Server(env=dict(ENV, OLLAMA_BASE_URL=self.double.start(),
                                   TSAN_OPTIONS=os.environ.get("TSAN_OPTIONS")))
        self.tally = Tally()

    def tearDown(self):
        self.srv.cleanup()
        self.double.stop()

    def msg(self, what):
        return f"{what} (seed {self.seed}; counts {self.tally.counts})"

    # ---- answers ---------------------------------------------------------------

    def check_detail(self, r, statuses):
        self.assertIn(r.status, statuses, self.msg(repr(r)))
        self.assertTrue(r.headers.get("content-type", "").startswith("application/json"), r)
        self.assertIsInstance(r.json.get("detail"), str, r)
        self.assertTrue(r.json["detail"], r)

    def check_result(self, r, name):
        """A run answer: the run result of SPEC §3, for this plugin."""
        self.assertEqual(r.status, 200, self.msg(repr(r)))
        j = r.json
        for key, typ in RESULT_TYPES.items():
            self.assertIsInstance(j.get(key), typ, self.msg(f"{key} in {j}"))
        self.assertIn("result", j)
        self.assertIn(j.get("error_type", "missing"), ERROR_TYPES, j)
        self.assertEqual(j["success"], j["error_type"] is None, j)
        if j["success"]:
            self.assertIsNone(j["error"], j)
        else:
            self.assertIsInstance(j["error"], str, j)
            self.assertTrue(j["error"], j)
        self.assertRegex(j["run_id"], UUID_RE)
        self.assertEqual(j["plugin"], name, j)
        self.assertGreaterEqual(j["version"], 1)
        self.assertTrue(0 <= j["ai_calls"] <= 3, j)
        self.assertGreaterEqual(j["duration_ms"], 0)
        # The engines of the sanitizer build are instrumented too: their
        # reports would land in a run's stderr.
        for m in SAN_MARKERS:
            self.assertNotIn(m, j["logs"], j)
        self.tally.add(f"{name}:{j['error_type'] or 'ok'}", j["run_id"])
        return j

    def run_req(self, name, input_data="", retries=60):
        """POST a run; a full queue is retried like a client would, backing
        off (the refusals are counted). Returns the last response."""
        for k in range(retries):
            r = self.srv.run(name, input_data, timeout=120)
            if r.status != 429:
                return r
            self.check_detail(r, (429,))
            self.tally.add("429")
            time.sleep(0.02 * (1 << min(k, 4)))
        return r

    # ---- the kinds of work -----------------------------------------------------

    def expect(self, name, rng):
        """One run of `name` and what its result must be."""
        data = "in-%d" % rng.randrange(1 << 30)
        r = self.run_req(name, data)
        if r.status == 429:
            return  # still full after the retries: a valid answer too
        j = self.check_result(r, name)
        et = j["error_type"]
        if name == "s_echo":
            self.assertIn(et, (None, "timeout"), j)
            if et is None:
                self.assertEqual(j["output"], data, j)
        elif name == "s_result":
            self.assertIn(et, (None, "timeout"), j)
            if et is None:
                self.assertEqual(j["result"], {"in": data, "n": [1, 2]}, j)
        elif name == "s_ai":
            self.assertIn(et, (None, "timeout"), j)
            if et is None:
                self.assertEqual(j["output"], f"echo: {data}\necho: b", j)
                self.assertEqual(j["ai_calls"], 2, j)
        elif name == "s_models":
            self.assertIn(et, (None, "timeout"), j)
            if et is None:
                models = sorted(ENV["ALLOWED_MODELS"].split(","))
                self.assertEqual(j["output"], str(models), j)
        elif name == "s_ai_late":
            # The AI call's own timeout and the run's deadline are the same
            # instant: either may win.
            if et is None:
                self.assertTrue(j["output"].startswith("[ERROR] "), j)
            else:
                self.assertEqual(et, "timeout", j)
        elif name == "s_ai_refused":
            self.assertIn(et, (None, "timeout"), j)
            if et is None:
                lines = j["output"].splitlines()
                self.assertEqual(lines[:3], ["echo: y"] * 3, j)
                self.assertTrue(all(l.startswith("[ERROR] ") for l in lines[3:]), j)
                self.assertEqual(j["ai_calls"], 3, j)
        elif name == "s_sleep":
            self.assertEqual(et, "timeout", j)
            self.assertIn("Plugin exceeded 4s limit", j["error"])
        elif name in ("s_flood", "s_flood_err"):
            self.assertIn(et, ("plugin_error", "timeout"), j)
            if et == "plugin_error":
                self.assertIn("truncated", j["output"] + j["logs"], j)
            # A timeout may come before the run wrote anything: on a loaded
            # machine a run can wait past its 4 s for the CPU to start.
            self.assertLess(len(j["output"]) + len(j["logs"]), 3 * 16384, "output not capped")
        elif name == "s_crash":
            self.assertIn(et, ("plugin_error", "timeout"), j)
            if et == "plugin_error":
                self.assertIn("ValueError: boom", j["error"], j)
        elif name == "s_garbage":
            self.assertIn(et, ("sandbox_violation", "timeout"), j)
        elif name == "s_ai_abandon":
            self.assertIn(et, (None, "timeout"), j)
            self.assertEqual(j["ai_calls"], 0, j)
        elif name == "s_ai_violate":
            self.assertIn(et, ("sandbox_violation", "timeout"), j)

    def burst(self, _unused, rng):
        """SLOTS runs (and a few to queue) that all end at the same instant."""
        at = "%.3f" % (time.time() + 1.0 + rng.uniform(0, 0.5))
        for r in fan_out(lambda: self.run_req("s_barrier", at), SLOTS + 8):
            if r.status == 429:
                self.check_detail(r, (429,))
                continue
            j = self.check_result(r, "s_barrier")
            self.assertIn(j["error_type"], (None, "timeout"), j)
            if j["success"]:
                self.assertEqual(j["output"], "o" * 3000, j)
                self.assertEqual(j["logs"], "e" * 3000, j)

    def hang_up(self, name, rng):
        """A client that sends a run and goes away: after the request, half
        way through the body, or with a reset."""
        body = urlencode({"plugin_name": name, "input_data": "bye"}).encode()
        head = ("POST /api/plugins/run HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        how = rng.choice(("after", "half", "reset"))
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=30)
        try:
            if how == "half":
                s.sendall(head + body[:len(body) // 2])
            else:
                s.sendall(head + body)
            time.sleep(rng.uniform(0.0, 0.6))
            if how == "reset":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            s.close()
        self.tally.add("hangup-" + how)

    def delete_while_running(self, i, rng):
        """Runs of a plugin deleted (and uploaded again) under them."""
        name = "doomed_%d" % (i % 3)
        r = self.srv.upload(name, "import time\ntime.sleep(0.3)\nprint('v')\n")
        self.assertEqual(r.status, 200, r)

        def delete():
            time.sleep(rng.uniform(0.0, 0.5))
            return self.srv.delete("/api/plugins/" + name)

        *out, d = fan_out([lambda: self.run_req(name)] * 3 + [delete])
        if d.status == 200:
            self.assertEqual(d.json, {"status": "deleted", "name": name})
        else:
            self.check_detail(d, (404,))
        for r in out:
            if r.status == 200:
                j = self.check_result(r, name)
                self.assertIn(j["error_type"], (None, "timeout"), j)
            else:
                self.check_detail(r, (404, 429))
                self.tally.add(f"doomed:{r.status}")

    def reader(self, _unused, rng):
        """The endpoints people poll while runs go on."""
        path = rng.choice(("/health", "/metrics", "/api/runs?limit=20", "/api/plugins/list"))
        r = self.srv.get(path)
        self.assertEqual(r.status, 200, r)

    # ---- the test --------------------------------------------------------------

    def test_mixed_load_then_sigterm(self):
        try:
            self.mixed_load_then_sigterm()
        except Exception as e:
            # A server that died says why in its log: a sanitizer report
            # there explains the failure better than the client's error.
            time.sleep(0.5)
            reports = sanitizer_reports(self.srv.log())
            if reports or (self.srv.proc and self.srv.proc.poll() not in (None, 0)):
                raise AssertionError(self.msg(
                    f"the server failed (exit {self.srv.proc.poll()}); its log ends:\n"
                    + self.srv.log()[-12000:])) from e
            # Otherwise what the server had to say besides its routine.
            notes = [l for l in self.srv.log().splitlines()
                     if " INFO " not in l or "received" in l or "stopped" in l]
            raise AssertionError(f"{e}\nthe server's warnings and errors:\n"
                                 + "\n".join(notes[-60:])) from e

    def mixed_load_then_sigterm(self):
        rng = random.Random(self.seed)
        self.srv.start()
        for name, code in PLUGINS.items():
            r = self.srv.upload(name, code)
            self.assertEqual(r.status, 200, r)

        counts = {"s_echo": 300, "s_result": 30, "s_ai": 30, "s_models": 10, "s_ai_late": 8,
                  "s_ai_refused": 10, "s_sleep": 10, "s_flood": 8, "s_flood_err": 6,
                  "s_crash": 20, "s_garbage": 10, "s_ai_abandon": 20, "s_ai_violate": 10}
        work = []
        for name, n in counts.items():
            work += [(self.expect, name)] * max(1, int(n * SCALE))
        work += [(self.hang_up, rng.choice(("s_echo", "s_nap", "s_ai", "s_sleep")))
                 for _ in range(max(1, int(50 * SCALE)))]
        work += [(self.delete_while_running, i) for i in range(max(1, int(12 * SCALE)))]
        work += [(self.reader, None)] * max(1, int(40 * SCALE))
        work += [(self.burst, None)] * max(1, int(3 * SCALE))
        rng.shuffle(work)
        # Bursts alone first, while the loop has nothing else to do.
        for _ in range(max(1, int(16 * SCALE))):
            self.burst(None, rng)

        def one(k):
            fn, arg = work[k]
            sub = random.Random(self.seed + k)
            return fn(arg, sub)

        with concurrent.futures.ThreadPoolExecutor(max_workers=64) as ex:
            for f in [ex.submit(one, k) for k in range(len(work))]:
                f.result()
        self.assertIsNone(self.srv.proc.poll(), self.msg("the server died"))

        # Every answered run is in the history (committed before the answer).
        for run_id in self.tally.run_ids:
            r = self.srv.get("/api/runs/" + run_id)
            self.assertEqual(r.status, 200, self.msg(f"run {run_id}: {r}"))
            self.assertEqual(r.json["run_id"], run_id)
        # Runs whose clients hung up are finished too: nothing stays running.
        self.assertTrue(wait_for(lambda: self.srv.gauge("wasmforge_runs_running") == 0
                                 and self.srv.gauge("wasmforge_runs_queued") == 0, 30),
                        self.msg("runs left over after the load"))
        self.sigterm_in_flight(rng)

    def sigterm_in_flight(self, rng):
        """SIGTERM while runs execute, wait on AI answers, and queue; more
        requests keep coming. Runs in flight get their answers; the server
        drains and exits 0."""
        # More than the slots: some wait in the queue when the signal comes.
        names = ["s_sleep"] * 56 + ["s_ai_late"] * 8 + ["s_ai"] * 8 + ["s_echo"] * 8
        rng.shuffle(names)
        results = []
        lock = threading.Lock()
        stop_late = threading.Event()

        def send(name):
            try:
                r = self.srv.run(name, "x", timeout=60)
            except GONE as e:
                r = e
            with lock:
                results.append((name, r))

        def late():
            # Keeps asking while the server shuts down; stops at the first
            # refused connection (the listener is gone).
            while not stop_late.is_set():
                try:
                    r = self.srv.run("s_echo", "late", timeout=60)
                except GONE:
                    return
                with lock:
                    results.append(("s_echo", r))

        threads = [threading.Thread(target=send, args=(n,)) for n in names]
        for t in threads:
            t.start()
        self.assertTrue(wait_for(lambda: self.srv.gauge("wasmforge_runs_running")
                                 >= SLOTS // 2, 30),
                        self.msg("runs did not start"))
        latecomers = [threading.Thread(target=late) for _ in range(2)]
        for t in latecomers:
            t.start()
        self.srv.proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(90)
        stop_late.set()
        for t in latecomers:
            t.join(90)
        self.assertEqual(self.srv.stop(timeout=60), 0)

        answered = 0
        for name, r in results:
            if isinstance(r, Exception):
                self.tally.add("gone")
                continue
            if r.status == 200:
                j = self.check_result(r, name)
                answered += 1
                if j["error_type"] == "runtime_error":
                    self.assertIn("cut short", j["error"], j)
            else:
                self.check_detail(r, (429, 503))
                self.tally.add(f"shutdown:{r.status}")
        # The runs executing when the signal came all got their answers.
        self.assertGreaterEqual(answered, SLOTS // 2, self.msg("in-flight runs unanswered"))
        if os.environ.get("WF_STRESS_VERBOSE"):
            print(f"\nstress seed {self.seed}: {sorted(self.tally.counts.items())}", flush=True)


class HeldAi:
    """A stand-in for Ollama that takes connections and answers none of
    them until released: an AI call stays out exactly as long as the test
    wants, with no clock involved."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.conns = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.sock.getsockname()[1]

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)

    def held(self):
        with self.lock:
            return len(self.conns)

    def release(self):
        """Hang up on every call (the server sees Ollama drop them)."""
        with self.lock:
            for c in self.conns:
                c.close()
            self.conns = []

    def close(self):
        self.sock.close()
        self.release()


class AbandonedAiCall(unittest.TestCase):
    """A run that ends with its AI call out keeps its slot until the call
    ends: such calls are bounded by MAX_CONCURRENT_RUNS like runs are, and
    cannot pile up on the runs' thread pool where starting runs waits."""

    def test_slot_is_held_until_the_call_ends(self):
        ai = HeldAi()
        srv = Server(env=dict(ENV, OLLAMA_BASE_URL=ai.url, MAX_CONCURRENT_RUNS="1",
                              MAX_EXECUTION_TIME="60"))
        try:
            srv.start()
            for name in ("s_ai_abandon", "s_echo"):
                self.assertEqual(srv.upload(name, PLUGINS[name]).status, 200)

            # The server's own look at Ollama's state (it starts with the
            # server) holds a connection too: let it give up first (2.5 s),
            # then count the run's call on top of it.
            r = srv.get("/health/ollama", timeout=30)
            self.assertEqual(r.json["status"], "disconnected", r.json)
            looks = ai.held()
            r = srv.run("s_ai_abandon", "")
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.json["success"], r.json)
            self.assertTrue(wait_for(lambda: ai.held() == looks + 1, 30), "the AI call never came")
            # Answered, yet its slot stays taken while the call is out...
            self.assertEqual(srv.gauge("wasmforge_runs_running"), 1)
            box = {}
            t = threading.Thread(target=lambda: box.setdefault("r", srv.run("s_echo", "next")))
            t.start()
            # ...so the next run waits in the queue,
            self.assertTrue(wait_for(lambda: srv.gauge("wasmforge_runs_queued") == 1, 30))
            self.assertTrue(t.is_alive())
            # and runs once the call has ended.
            ai.release()
            t.join(60)
            self.assertEqual(box["r"].status, 200, box["r"])
            self.assertEqual(box["r"].json["output"], "next", box["r"].json)
            self.assertTrue(wait_for(lambda: srv.gauge("wasmforge_runs_running") == 0, 30))
            self.assertEqual(srv.stop(), 0)
        finally:
            srv.cleanup()
            ai.close()


if __name__ == "__main__":
    unittest.main()
