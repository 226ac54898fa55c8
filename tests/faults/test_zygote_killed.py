"""The zygote (the process every run is forked from) killed with runs in
flight: those runs are answered as runtime_error saying the sandbox failed
(not plugin_error "killed by signal 9", which blames the plugin), they are
recorded like any run, and the next runs work on a new zygote."""
import concurrent.futures
import os
import re
import signal
import unittest

from faultkit import scaled
from support.server import Server, wait_for

SLOW = "import time\ntime.sleep(30)\nprint('finished')\n"
FAST = "print('ok')\n"


class TestZygoteKilled(unittest.TestCase):
    sandboxes = ("native", "wasm")

    @classmethod
    def setUpClass(cls):
        cls.server = Server(env={"MAX_EXECUTION_TIME": "60", "SHUTDOWN_GRACE": "2"})
        cls.server.start()
        assert cls.server.upload("slow", SLOW).status == 200
        assert cls.server.upload("fast", FAST).status == 200

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.server.cleanup()

    def zygote_pid(self):
        pids = re.findall(r"sandbox: zygote started \(pid (\d+)\)", self.server.log())
        return int(pids[-1]) if pids else None

    def kill_zygote_under_runs(self, n):
        """n slow runs, the zygote SIGKILLed while they run: their answers."""
        self.assertEqual(self.server.run("fast").status, 200)  # a zygote is up
        self.assertTrue(self.server.wait_log(r"sandbox: zygote started"),
                        self.server.log()[-2000:])
        pid = self.zygote_pid()
        with concurrent.futures.ThreadPoolExecutor(n) as ex:
            futs = [ex.submit(self.server.run, "slow", timeout=90) for _ in range(n)]
            running = wait_for(lambda: self.server.gauge("wasmforge_runs_running") >= n,
                               timeout=30)
            self.assertTrue(running, "the slow runs did not start")
            os.kill(pid, signal.SIGKILL)
            answers = [f.result() for f in futs]
        return pid, answers

    def test_runs_in_flight_are_runtime_errors(self):
        n = scaled(3)
        lost_with_zygote = 0
        # A run the zygote's death does not reach (it was already on its
        # own) finishes normally; that is fine, but the test needs some
        # that were reached: a few tries at most.
        for _ in range(3):
            pid, answers = self.kill_zygote_under_runs(n)
            for r in answers:
                self.assertEqual(r.status, 200, r)
                body = r.json
                self.assertNotEqual(body["error_type"], "plugin_error", body)
                if body["success"]:
                    continue
                lost_with_zygote += 1
                self.assertEqual(body["error_type"], "runtime_error", body)
                self.assertIn("sandbox failed", body["error"])
                self.assertNotIn("signal", body["error"])
                rec = self.server.get(f"/api/runs/{body['run_id']}")
                self.assertEqual(rec.status, 200, rec)
                self.assertEqual(rec.json["error_type"], "runtime_error")
            # a new zygote serves the next runs
            r = self.server.run("fast")
            self.assertEqual((r.status, r.json["success"], r.json["output"].strip()),
                             (200, True, "ok"), r)
            started = self.server.wait_log(
                rf"sandbox: zygote started \(pid (?!{pid}\))\d+\)")
            self.assertTrue(started, "no new zygote in the log")
            if lost_with_zygote:
                break
        self.assertGreater(lost_with_zygote, 0, "no run was in the zygote's hands")


if __name__ == "__main__":
    unittest.main()
