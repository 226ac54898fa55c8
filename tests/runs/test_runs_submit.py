"""Runs as a service (issue 15 points 1 and 3): POST /api/runs answers 202 at
once, GET /api/runs/{id} shows a queued or running run and then its record,
POST /api/runs/{id}/cancel ends a queued or running run (an AI call in
flight included) as `cancelled`. Run once per sandbox (tests/run.py)."""
import concurrent.futures
import random
import re
import time
import uuid

from runs_support import LIMITS, HttpRunsCase
from support.server import wait_for

QUICK = "from platform_sdk import get_input\nprint('got', get_input())\n"
# Prints, flushes, then waits far longer than any test (its limit is longer
# still): only a cancel ends it early.
BLOCKER = ("import time\nprint('started', flush=True)\n"
           "for _ in range(900):\n    time.sleep(0.1)\nprint('never cancelled')\n")
ASKS = ("from platform_sdk import call_ai\nprint('asking', flush=True)\n"
        "print(call_ai('mistral:latest', 'hi'))\n")
ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Where the machine is loaded, starting a sandbox can take seconds: the
# waits are long, and only a fault makes them run out.
WAIT = 60


class SubmitSupport(HttpRunsCase):
    def submit(self, plugin, input=None, **extra):
        body = {"plugin": plugin}
        if input is not None:
            body["input"] = input
        body.update(extra)
        return self.server.post_json("/api/runs", body, timeout=WAIT + 60)

    def submitted(self, plugin, input=None):
        r = self.submit(plugin, input)
        self.assertEqual(r.status, 202, r)
        return r.json["run_id"]

    def view(self, run_id):
        r = self.server.get(f"/api/runs/{run_id}")
        self.assertEqual(r.status, 200, r)
        return r.json

    def final(self, run_id, timeout=WAIT):
        """The run's record, once it is over (a record has `success`)."""
        rec = wait_for(lambda: (lambda v: v if "success" in v else None)(self.view(run_id)),
                       timeout)
        self.assertTrue(rec, f"run {run_id} is not over after {timeout} s: {self.view(run_id)}")
        return rec

    def cancel(self, run_id):
        return self.server.request("POST", f"/api/runs/{run_id}/cancel")

    def upload(self, code):
        name = "p_" + uuid.uuid4().hex[:10]
        self.assertEqual(self.server.upload(name, code).status, 200)
        return name

    def running(self, run_id, stdout="started\n"):
        """Wait until the run runs and its output so far holds `stdout`
        (whole lines: print() may write the text and its newline apart, and
        a cancel between the two leaves the record without the newline)."""
        v = wait_for(lambda: (lambda v: v if v.get("state") == "running" and
                              stdout in v.get("stdout", "") else None)(self.view(run_id)), WAIT)
        self.assertTrue(v, self.view(run_id))
        return v

    def assertCancelled(self, rec):
        self.assertFalse(rec["success"], rec)
        self.assertEqual(rec["error_type"], "cancelled", rec)
        self.assertEqual(rec["error"], "Run cancelled", rec)

    def outcome_count(self, outcome):
        for line in self.server.get("/metrics").text.splitlines():
            if line.startswith(f'wasmforge_runs_total{{outcome="{outcome}"}} '):
                return int(float(line.split()[1]))
        return -1


class RunsSubmitOneSlot(SubmitSupport):
    """One run at a time, so a second one waits in the queue."""
    extra_env = dict(LIMITS, MAX_CONCURRENT_RUNS="1", MAX_EXECUTION_TIME="120")

    def test_submit_answers_202_with_location_then_the_record(self):
        name = self.upload(QUICK)
        r = self.submit(name, "hello")
        self.assertEqual(r.status, 202, r)
        run_id = r.json["run_id"]
        self.assertRegex(run_id, ID)
        self.assertEqual(r.headers.get("location"), f"/api/runs/{run_id}")
        self.assertEqual(r.json["state"], "queued")
        self.assertEqual(r.json["plugin"], name)
        self.assertEqual(r.json["version"], 1)
        rec = self.final(run_id)
        self.assertTrue(rec["success"], rec)
        self.assertEqual(rec["output"], "got hello")
        self.assertEqual(rec["run_id"], run_id)
        self.assertEqual(rec["input_data"], "hello")
        # input is optional
        rec = self.final(self.submitted(name))
        self.assertEqual(rec["output"], "got", rec)

    def test_wait_true_answers_like_the_synchronous_run(self):
        name = self.upload(QUICK)
        r = self.submit(name, "x", wait=True)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["success"], r.json)
        self.assertEqual(r.json["output"], "got x")
        self.assertRegex(r.json["run_id"], ID)
        self.assertEqual(self.view(r.json["run_id"])["output"], "got x")
        r = self.submit(name, "y", wait=False)
        self.assertEqual(r.status, 202, r)

    def test_queued_and_running_views_and_their_cancel(self):
        blocker = self.upload(BLOCKER)
        quick = self.upload(QUICK)
        first = self.submitted(blocker)
        v = self.running(first)
        self.assertEqual(v["plugin"], blocker)
        self.assertEqual(v["version"], 1)
        self.assertTrue(v["started_at"], v)
        self.assertNotIn("success", v)
        # The only slot is taken: the next run waits.
        second = self.submitted(quick, "q")
        v = self.view(second)
        self.assertEqual(v["state"], "queued", v)
        self.assertIsNone(v["started_at"], v)
        self.assertEqual(v["stdout"], "")
        # A queued run, cancelled, never starts.
        r = self.cancel(second)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json["run_id"], second)
        self.assertTrue(r.json["cancel_requested"], r.json)
        rec = self.final(second)
        self.assertCancelled(rec)
        self.assertEqual(rec["output"], "", rec)
        self.assertEqual(self.view(first)["state"], "running")
        # The running one, cancelled, ends long before its loop would.
        t0 = time.monotonic()
        r = self.cancel(first)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json["state"], "running")
        rec = self.final(first)
        self.assertCancelled(rec)
        self.assertEqual(rec["stdout"], "started\n", rec)
        self.assertLess(time.monotonic() - t0, WAIT)
        # Both over: cancelling again is a conflict, and the slot is free.
        r = self.cancel(first)
        self.assertDetail(r, 409)
        self.assertIn("already over", r.json["detail"])
        self.assertTrue(self.final(self.submitted(quick, "after"))["success"])

    def test_cancel_of_a_finished_run_is_409(self):
        name = self.upload(QUICK)
        run_id = self.submitted(name)
        rec = self.final(run_id)
        self.assertTrue(rec["success"], rec)
        r = self.cancel(run_id)
        detail = self.assertDetail(r, 409)
        self.assertIn(run_id, detail)
        self.assertIn("already over", detail)
        # and the record is unchanged
        self.assertEqual(self.view(run_id), rec)

    def test_unknown_runs_are_404(self):
        for path in (f"/api/runs/{uuid.uuid4()}/cancel", "/api/runs/not-a-run/cancel"):
            self.assertDetail(self.server.request("POST", path), 404)
        self.assertDetail(self.server.get(f"/api/runs/{uuid.uuid4()}"), 404)
        # GET is not a cancel
        self.assertEqual(self.server.get(f"/api/runs/{uuid.uuid4()}/cancel").status, 405)

    def test_bad_submissions(self):
        name = self.upload(QUICK)
        post = self.server.request
        for body, ctype in ((b"plugin=" + name.encode(), "application/x-www-form-urlencoded"),
                            (b'{"plugin": ', "application/json"),
                            (b'["plugin"]', "application/json"),
                            (b'{"plugin": "a", "plugin": "b"}', "application/json")):
            r = post("POST", "/api/runs", body=body, headers={"Content-Type": ctype})
            self.assertDetail(r, 422)
        for body in ({}, {"plugin": ""}, {"plugin": None}, {"input": "x"}):
            r = self.server.post_json("/api/runs", body)
            self.assertEqual(r.status, 422, r)
            self.assertEqual(r.json["detail"][0]["loc"], ["body", "plugin"], r.json)
        for body, field in (({"plugin": 5}, "plugin"), ({"plugin": name, "input": 5}, "input"),
                            ({"plugin": name, "input": ["x"]}, "input"),
                            ({"plugin": name, "wait": "yes"}, "wait"),
                            ({"plugin": name, "wait": 1}, "wait"),
                            ({"plugin": name, "callback_url": "http://127.0.0.1/"},
                             "callback_url")):
            r = self.server.post_json("/api/runs", body)
            self.assertIn(f"'{field}'", self.assertDetail(r, 422), body)
        self.assertIn("not found", self.assertDetail(self.submit("no_such_plugin"), 404))
        self.assertDetail(self.submit("../etc"), 404)
        # what was refused never ran
        runs = self.server.get(f"/api/runs?plugin={name}").json
        self.assertEqual(runs, [], runs)


class RunsSubmitQueueFull(SubmitSupport):
    extra_env = dict(LIMITS, MAX_CONCURRENT_RUNS="1", MAX_QUEUED_RUNS="1",
                     MAX_EXECUTION_TIME="120")

    def test_full_queue_is_429(self):
        blocker = self.upload(BLOCKER)
        first = self.submitted(blocker)
        self.running(first)
        second = self.submitted(blocker)
        r = self.submit(blocker)
        self.assertIn("Too many runs", self.assertDetail(r, 429))
        for run_id in (second, first):
            self.assertEqual(self.cancel(run_id).status, 202)
            self.assertCancelled(self.final(run_id))


class RunsCancelAiCall(SubmitSupport):
    """A run waiting for a model's answer is cancelled without waiting for it."""
    extra_env = dict(LIMITS, MAX_CONCURRENT_RUNS="4", MAX_EXECUTION_TIME="300")

    def test_cancel_abandons_the_ai_call_in_flight(self):
        self.double.configure(delay=120)
        name = self.upload(ASKS)
        before = self.outcome_count("cancelled")
        run_id = self.submitted(name)
        self.running(run_id, "asking\n")
        self.assertTrue(wait_for(lambda: self.double.requests("/api/generate"), WAIT),
                        self.view(run_id))
        t0 = time.monotonic()
        self.assertEqual(self.cancel(run_id).status, 202)
        rec = self.final(run_id)
        # far sooner than the model's 120 s
        self.assertLess(time.monotonic() - t0, 60)
        self.assertCancelled(rec)
        self.assertEqual(rec["ai_calls"], 0)
        self.assertEqual(self.outcome_count("cancelled"), before + 1)
        self.double.configure(delay=0)
        # other runs go on meanwhile
        quick = self.upload(QUICK)
        self.assertTrue(self.final(self.submitted(quick))["success"])


class RunsCancelSyncClient(SubmitSupport):
    """The client waiting for a run (POST /api/plugins/run, or POST /api/runs
    with "wait": true) gets the cancelled result as its answer."""
    extra_env = dict(LIMITS, MAX_CONCURRENT_RUNS="4", MAX_EXECUTION_TIME="120",
                     LOG_LEVEL="debug")

    def waiting_client(self, start):
        name = self.upload(BLOCKER)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as ex:
            fut = ex.submit(start, name)
            # Its id, from the log line written when it was queued.
            m = self.server.wait_log(rf"run ([0-9a-f-]{{36}}) queued: plugin={name} ", WAIT)
            self.assertTrue(m, self.server.log()[-2000:])
            run_id = m.group(1)
            self.running(run_id)
            self.assertFalse(fut.done())
            self.assertEqual(self.cancel(run_id).status, 202)
            r = fut.result(timeout=WAIT)
        self.assertEqual(r.status, 200, r)
        self.assertCancelled(r.json)
        self.assertEqual(r.json["run_id"], run_id)
        self.assertEqual(r.json["stdout"], "started\n")
        self.assertEqual(self.view(run_id)["error_type"], "cancelled")

    def test_synchronous_run(self):
        self.waiting_client(lambda name: self.server.run(name, timeout=WAIT + 60))

    def test_submit_with_wait(self):
        self.waiting_client(lambda name: self.submit(name, wait=True))


class RunsCancelRace(SubmitSupport):
    """Many runs, each cancelled at a random moment (queued, starting,
    running, ending, over), a third of them the moment their output says
    they are ending: every run is recorded exactly once, as cancelled when
    the cancel was accepted and as it ended when refused."""
    extra_env = dict(LIMITS, MAX_CONCURRENT_RUNS="4", MAX_QUEUED_RUNS="200",
                     MAX_EXECUTION_TIME="120")

    def test_cancel_races(self):
        name = self.upload("import time\nfrom platform_sdk import get_input\n"
                           "time.sleep(float(get_input()))\nprint('done', flush=True)\n")
        before = self.outcome_count("cancelled")
        rng = random.Random(15)
        n = 60
        ids = [self.submitted(name, f"{rng.random() * 0.6:.3f}") for _ in range(n)]
        delays = [rng.random() * 3 for _ in ids]

        def ending(run_id):
            v = self.view(run_id)
            return "success" in v or "done" in v.get("stdout", "")

        def cancel_later(i):
            if i % 5 == 0:
                self.final(ids[i])  # some surely after the end
            if i % 3 == 1:
                # as the run ends: the cancel meets the run's own end
                wait_for(lambda: ending(ids[i]), WAIT, interval=0.002)
            else:
                time.sleep(delays[i])
            return self.cancel(ids[i])

        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as ex:
            answers = list(ex.map(cancel_later, range(n)))
        accepted = 0
        for run_id, r in zip(ids, answers):
            self.assertIn(r.status, (202, 409), r)
            rec = self.final(run_id)
            if r.status == 202:
                accepted += 1
                self.assertCancelled(rec)
            else:
                self.assertTrue(rec["success"], rec)
                self.assertEqual(rec["output"], "done", rec)
        listed = self.server.get(f"/api/runs?plugin={name}&limit=1000").json
        self.assertEqual(sorted(x["run_id"] for x in listed), sorted(ids))
        self.assertEqual(self.outcome_count("cancelled"), before + accepted)
        # Both kinds happened, or the race was not run.
        self.assertGreater(accepted, 0)
        self.assertLess(accepted, n)


class RunsOwnLimits(SubmitSupport):
    """Issue 15 point 6: "limits" lowers the server's own for one run, never
    raises them."""
    extra_env = dict(LIMITS, MAX_CONCURRENT_RUNS="4", MAX_EXECUTION_TIME="120",
                     MAX_MEMORY_MB="512", MAX_OUTPUT_BYTES="65536")
    SERVER = {"timeout_s": 120, "memory_mb": 512, "max_ai_calls": 3, "max_output_bytes": 65536}

    def run_with(self, code, limits):
        r = self.submit(self.upload(code), limits=limits, wait=True)
        self.assertEqual(r.status, 200, r)
        expected = dict(self.SERVER, **limits)
        self.assertEqual(r.json["limits"], expected, r.json)
        # the run history keeps them
        self.assertEqual(self.view(r.json["run_id"])["limits"], expected)
        return r.json

    def test_timeout(self):
        res = self.run_with("import time\ntime.sleep(60)\n", {"timeout_s": 2})
        self.assertEqual(res["error_type"], "timeout", res)
        self.assertEqual(res["error"], "Plugin exceeded 2s limit")
        self.assertLess(res["duration_ms"], 50000, res)

    def test_output(self):
        res = self.run_with("print('x' * 5000)\n", {"max_output_bytes": 1000})
        self.assertTrue(res["success"], res)
        self.assertIn("[output truncated: 5001 bytes written, limit 1000]", res["stdout"])
        # the server's own limit keeps it all
        r = self.submit(self.upload("print('x' * 5000)\n"), wait=True)
        self.assertEqual(r.json["stdout"], "x" * 5000 + "\n")
        self.assertNotIn("limits", r.json)
        self.assertNotIn("limits", self.view(r.json["run_id"]))

    def test_ai_calls(self):
        code = ("from platform_sdk import call_ai\n"
                "for i in range(2):\n    print(call_ai('mistral:latest', f'q{i}'))\n")
        res = self.run_with(code, {"max_ai_calls": 1})
        lines = res["output"].splitlines()
        self.assertEqual(lines[0], "echo: q0", res)
        self.assertTrue(lines[1].startswith("[ERROR]"), res)
        self.assertIn("limit", lines[1], res)
        self.assertEqual(res["ai_calls"], 1)

    def test_memory(self):
        code = "b = bytearray(200 * 1024 * 1024)\nprint(len(b))\n"
        res = self.run_with(code, {"memory_mb": 64})
        self.assertFalse(res["success"], res)
        self.assertIn(res["error_type"], ("memory_limit", "plugin_error"), res)
        self.assertIn("Memory", res["error"] + res["logs"], res)
        r = self.submit(self.upload(code), wait=True)
        self.assertTrue(r.json["success"], r.json)

    def test_live_view_shows_them(self):
        run_id = self.submitted_with(self.upload(BLOCKER), {"timeout_s": 100})
        v = self.running(run_id)
        self.assertEqual(v["limits"], dict(self.SERVER, timeout_s=100), v)
        self.assertEqual(self.cancel(run_id).status, 202)
        self.assertCancelled(self.final(run_id))

    def submitted_with(self, name, limits):
        r = self.submit(name, limits=limits)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json["limits"], dict(self.SERVER, **limits), r.json)
        return r.json["run_id"]

    def test_bad_limits(self):
        name = self.upload(QUICK)
        for limits, says in (([1], "must be an object"),
                             ("x", "must be an object"),
                             ({"cpu": 1}, "limits.cpu is not a limit"),
                             ({"timeout_s": 0}, "limits.timeout_s must be an integer"),
                             ({"timeout_s": "5"}, "limits.timeout_s must be an integer"),
                             ({"timeout_s": 1.5}, "limits.timeout_s must be an integer"),
                             ({"memory_mb": -1}, "limits.memory_mb must be an integer"),
                             ({"timeout_s": 121}, "limits.timeout_s must be an integer from 1 to 120"),
                             ({"memory_mb": 513}, "limits.memory_mb must be an integer from 1 to 512"),
                             ({"max_ai_calls": 4}, "limits.max_ai_calls must be an integer from 1 to 3"),
                             ({"max_output_bytes": 10 ** 12},
                              "limits.max_output_bytes must be an integer from 1 to 65536")):
            r = self.submit(name, limits=limits)
            self.assertIn(says, self.assertDetail(r, 422), limits)
        self.assertEqual(self.server.get(f"/api/runs?plugin={name}").json, [])
        # the server's own values are accepted; null is no limits
        self.assertTrue(self.final(self.submitted_with(name, dict(self.SERVER)))["success"])
        r = self.submit(name, limits=None, wait=True)
        self.assertTrue(r.json["success"], r.json)
