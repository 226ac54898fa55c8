"""Two runs at once on one server: a victim (or receiver) that is running,
and an attacker (or sender) started while it runs. For the hostile suites
about runs reaching each other (test_run_signals.py, test_run_channels.py);
WF_TEST_SANDBOX picks the sandbox, as for the rest of tests/hostile.

The attacker gets what it needs to aim at the victim the ways a real one
would (pid ranges, process group 0, -1) and also, as its input, the
victim's pid as the host sees it (what a scan of /proc would give where
/proc can be read)."""
import json
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runs"))

from runs_support import LIMITS, HttpRunsCase, sandbox_pids  # noqa: E402
from support.server import wait_for  # noqa: E402

# Longer than the suite's usual 4 s: the victim has to outlast the attack.
CONCURRENT_LIMITS = dict(LIMITS, MAX_EXECUTION_TIME="30")


class ConcurrentRunsCase(HttpRunsCase):
    extra_env = CONCURRENT_LIMITS

    def upload(self, code):
        name = "p_" + uuid.uuid4().hex[:10]
        r = self.server.upload(name, code)
        self.assertEqual(r.status, 200, r)
        return name

    def pair(self, first, second, second_input=None):
        """Runs `first`; once its sandbox process is there, runs `second`
        with the first's host pid as input (JSON) unless second_input is
        given. Returns (first's result, second's result)."""
        a, b = self.upload(first), self.upload(second)
        spid = self.server.proc.pid
        before = set(sandbox_pids(spid))
        box = {}

        def go():
            try:
                box["res"] = self.server.run(a, "", timeout=120)
            except BaseException as e:  # re-raised in the test's thread
                box["exc"] = e

        t = threading.Thread(target=go)
        t.start()
        self.assertTrue(wait_for(lambda: set(sandbox_pids(spid)) - before, 30),
                        "the first run's process never appeared")
        pids = sorted(set(sandbox_pids(spid)) - before)
        # Its plugin code runs a moment after its process appears.
        time.sleep(0.3)
        arg = second_input if second_input is not None else json.dumps({"pid": pids[0]})
        r2 = self.server.run(b, arg, timeout=120)
        t.join(120)
        self.assertFalse(t.is_alive(), "the first run never ended")
        if "exc" in box:
            raise box["exc"]
        r1 = box["res"]
        self.assertEqual(r1.status, 200, r1)
        self.assertEqual(r2.status, 200, r2)
        return r1.json, r2.json
