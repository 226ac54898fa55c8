"""SQLite on a full disk (DATA_DIR on a small tmpfs, filled): uploads answer
507 saying the disk is full, /health is degraded, runs are still answered
and every run answered with a run_id is found (from the run journal) at
once, and in the database once space returns, live or after a SIGKILL and
a restart."""
import signal
import unittest

from faultkit import SmallDisk, fire_runs, missing_runs, scaled
from support.server import Server, wait_for

PLUGIN = "print('x' * 2000)\n"


class TestSqliteDiskFull(unittest.TestCase):
    def setUp(self):
        self.disk = SmallDisk(16)
        self.server = Server(env={"DATA_DIR": self.disk.dir, "SHUTDOWN_GRACE": "5"})
        self.server.start()
        self.assertEqual(self.server.upload("filler", PLUGIN).status, 200)

    def tearDown(self):
        try:
            self.server.kill()
            self.server.cleanup()
        finally:
            self.disk.remove()

    def health(self):
        return self.server.get("/health", timeout=10)

    def fill_and_run(self):
        self.disk.fill()
        t = fire_runs(self.server, "filler", scaled(12), workers=4)
        print(f"\n  SQLite, disk full: {t}, "
              f"journaled={self.server.log().count('journaled, to be replayed')}")
        self.assertEqual(t.other, {}, t)
        self.assertGreater(len(t.acked), 0, t)
        return t

    def test_full_disk_is_507_degraded_and_runs_are_kept(self):
        t = self.fill_and_run()
        r = self.server.upload("another", PLUGIN)
        self.assertEqual(r.status, 507, r)
        self.assertIn("disk is full", r.json["detail"])
        h = self.health()
        self.assertEqual(h.status, 503, h)
        self.assertEqual(h.json["status"], "degraded")
        self.assertIs(h.json["database_disk_full"], True)
        # Reads still work; a full disk is not a database that is down.
        self.assertEqual(self.server.get("/api/plugins/filler/code").status, 200)
        # Answered => found, even before the database has the records: by
        # id, and in the history's first page.
        self.assertEqual(missing_runs(self.server, t.acked), [])
        listed = {x["run_id"] for x in self.server.get("/api/runs?limit=1000").json}
        self.assertEqual(set(t.acked) - listed, set(), "journaled runs missing from history")
        mine = self.server.get("/api/runs?plugin=filler&limit=5").json
        self.assertEqual(len(mine), 5)
        self.assertTrue(all(x["plugin"] == "filler" for x in mine))
        self.assertEqual([x["started_at"] for x in mine],
                         sorted((x["started_at"] for x in mine), reverse=True))

        self.disk.free()
        ok = wait_for(lambda: self.health().json["runs_journaled"] == 0, timeout=30)
        self.assertTrue(ok, self.health().json)
        listed = {x["run_id"] for x in self.server.get("/api/runs?limit=1000").json}
        self.assertEqual(set(t.acked) - listed, set(), "answered runs missing from history")
        self.assertEqual(missing_runs(self.server, t.acked), [])
        # A write brings the disk's state back to what it is.
        self.assertEqual(self.server.upload("another", PLUGIN).status, 200)
        h = self.health()
        self.assertEqual((h.status, h.json["status"]), (200, "ok"), h.json)
        self.server.stop()

    def test_journal_is_replayed_after_a_crash(self):
        t = self.fill_and_run()
        self.server.stop(sig=signal.SIGKILL, expect_code=None)
        self.disk.free()
        self.server.start()
        wait_for(lambda: not missing_runs(self.server, t.acked), timeout=20, interval=0.5)
        self.assertEqual(missing_runs(self.server, t.acked), [])
        self.assertEqual(self.health().json.get("runs_journaled"), 0)
        listed = {x["run_id"] for x in self.server.get("/api/runs?limit=1000").json}
        self.assertEqual(set(t.acked) - listed, set())
        self.server.stop()


if __name__ == "__main__":
    unittest.main()
