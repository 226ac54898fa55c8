"""PostgreSQL faults under a running server, on a cluster of the test's own
(never the shared one): restarted under a load of runs, every run answered
with a run_id is then found; frozen (SIGSTOP of the postmaster and every
backend, the stand-in for a network partition), /health still answers at
once, a write answers 503 within DB_TIMEOUT_MS and a margin, and all is
well again after SIGCONT."""
import os
import shutil
import signal
import tempfile
import threading
import time
import unittest
import uuid

from faultkit import SmallDisk, Tally, fire_runs, missing_runs, scaled
from support import pg
from support.server import Server, psql, wait_for

TIMEOUT_MS = 1500


def cluster_pids(dir):
    """The postmaster's pid and its children's (the backends and helpers)."""
    with open(os.path.join(dir, "data", "postmaster.pid")) as f:
        pm = int(f.readline())
    pids = [pm]
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pm:
            pids.append(int(d))
    return pids


class PgFaultCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pgdir = tempfile.mkdtemp(prefix="wf-fault-pg-")
        try:
            cls.url = pg.start(cls.pgdir)
        except Exception as e:
            shutil.rmtree(cls.pgdir, ignore_errors=True)
            raise unittest.SkipTest(f"no PostgreSQL cluster of our own: {e}")

    @classmethod
    def tearDownClass(cls):
        pg.destroy(cls.pgdir)

    server_env = {}

    def setUp(self):
        self.server = Server(env={"DATABASE_URL": self.database_url(),
                                  "DB_TIMEOUT_MS": str(TIMEOUT_MS), "SHUTDOWN_GRACE": "5",
                                  **self.server_env})
        self.server.start()
        self.addCleanup(self.server.cleanup)

    def database_url(self):
        return self.url

    def freeze(self, sig):
        """SIGSTOP/SIGCONT the cluster: postmaster and every backend."""
        for pid in cluster_pids(self.pgdir):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def health(self):
        return self.server.get("/health", timeout=10)


class TestPgRestart(PgFaultCase):
    def test_restart_under_load_loses_no_answered_run(self):
        self.assertEqual(self.server.upload("pgload", "import time\ntime.sleep(0.3)\nprint('hello')\n").status, 200)
        tally, lock, stop = Tally(), threading.Lock(), threading.Event()

        def load(i):
            while not stop.is_set():
                try:
                    r = self.server.run("pgload", f"load {i}", timeout=60)
                except Exception as e:
                    r = e
                with lock:
                    tally.add(r)
                if not (hasattr(r, "status") and r.status == 200):
                    time.sleep(0.05)  # the database is away: do not spin

        threads = [threading.Thread(target=load, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        try:
            for _ in range(scaled(2)):
                wait_for(lambda: len(tally.acked) >= 5, timeout=30)
                pg.stop(self.pgdir, "fast")
                time.sleep(0.5)
                pg.start(self.pgdir)
                time.sleep(1.0)
        finally:
            stop.set()
            for t in threads:
                t.join()
        journaled = self.server.log().count("journaled, to be replayed")
        print(f"\n  PostgreSQL restarted {scaled(2)}x under load: {tally}, "
              f"journaled={journaled}")
        self.assertGreater(len(tally.acked), 0, tally)
        # Other answers are 503s while the database is away: never a 500.
        self.assertEqual({k for k in tally.other if k != 503}, set(), tally)
        back = wait_for(lambda: self.health().status == 200, timeout=30)
        self.assertTrue(back, self.health().json)
        wait_for(lambda: self.health().json.get("runs_journaled") == 0, timeout=30)
        lost = missing_runs(self.server, tally.acked)
        self.assertEqual(lost, [], f"{len(lost)} of {len(tally.acked)} answered runs lost; "
                         f"log: {self.server.log()[-3000:]}")
        self.server.stop()


class TestPgFrozen(PgFaultCase):
    def test_frozen_database_never_freezes_the_server(self):
        self.assertEqual(self.server.upload("before", "print(1)\n").status, 200)
        self.freeze(signal.SIGSTOP)
        try:
            result = {}

            def upload():
                t0 = time.monotonic()
                result["r"] = self.server.upload("during", "print(2)\n", timeout=60)
                result["s"] = time.monotonic() - t0

            t = threading.Thread(target=upload)
            t.start()
            time.sleep(0.2)  # the upload is waiting on the database now
            t0 = time.monotonic()
            h = self.health()
            health_s = time.monotonic() - t0
            m0 = time.monotonic()
            metrics = self.server.get("/metrics", timeout=10)
            metrics_s = time.monotonic() - m0
            t.join()
            print(f"\n  PostgreSQL frozen: /health {health_s * 1000:.0f} ms, /metrics "
                  f"{metrics_s * 1000:.0f} ms, upload {result['r'].status} after "
                  f"{result['s'] * 1000:.0f} ms (DB_TIMEOUT_MS {TIMEOUT_MS})")
            self.assertLess(health_s, 0.5)
            self.assertLess(metrics_s, 0.5)
            self.assertEqual(metrics.status, 200)
            self.assertIn("database_checked_ms_ago", h.json)
            r = result["r"]
            self.assertEqual(r.status, 503, r)
            self.assertIn("detail", r.json)
            self.assertLess(result["s"], TIMEOUT_MS / 1000 + 3.0)
            # Known down now: answered at once, and /health says so.
            t0 = time.monotonic()
            self.assertEqual(self.server.get("/api/plugins/list", timeout=30).status, 503)
            self.assertLess(time.monotonic() - t0, TIMEOUT_MS / 1000 + 1.0)
            h = wait_for(lambda: self.health().status == 503, timeout=10)
            self.assertTrue(h, self.health().json)
        finally:
            self.freeze(signal.SIGCONT)
        ok = wait_for(lambda: self.server.get("/api/plugins/list").status == 200, timeout=30)
        self.assertTrue(ok, "no recovery after SIGCONT")
        self.assertEqual(self.server.upload("after", "print(3)\n").status, 200)
        wait_for(lambda: self.health().status == 200, timeout=10)
        self.assertEqual(self.health().json["status"], "ok")
        self.server.stop()


class TestPgFrozenOneThread(PgFaultCase):
    """One HTTP thread (the default on 2 cores): requests that wait on the
    frozen database wait on workers, never on the thread that answers
    /health."""
    server_env = {"HTTP_THREADS": "1"}

    def test_waiting_requests_never_hold_the_http_thread(self):
        self.assertEqual(self.server.upload("held", "print(1)\n").status, 200)
        run_id = str(uuid.uuid4())  # not in the journal: the database is asked
        srv = self.server
        asks = {"code": lambda: srv.get("/api/plugins/held/code", timeout=60),
                "run": lambda: srv.get(f"/api/runs/{run_id}", timeout=60),
                "delete": lambda: srv.delete("/api/plugins/held", timeout=60),
                "submit": lambda: srv.run("held", "x", timeout=60),
                "list": lambda: srv.get("/api/plugins/list", timeout=60)}
        self.freeze(signal.SIGSTOP)
        try:
            results = {}

            def ask(key, call):
                t0 = time.monotonic()
                results[key] = (call(), time.monotonic() - t0)

            threads = [threading.Thread(target=ask, args=kv) for kv in asks.items()]
            for t in threads:
                t.start()
            time.sleep(0.3)  # all are waiting on the database now
            t0 = time.monotonic()
            h = self.health()
            health_s = time.monotonic() - t0
            for t in threads:
                t.join()
            print(f"\n  PostgreSQL frozen, HTTP_THREADS=1: /health {health_s * 1000:.0f} ms; "
                  + ", ".join(f"{k} {r.status} after {s * 1000:.0f} ms"
                              for k, (r, s) in results.items()))
            self.assertIn(h.status, (200, 503), h)
            self.assertLess(health_s, 0.5, "/health waited behind requests on the database")
            for key, (r, s) in results.items():
                self.assertEqual(r.status, 503, (key, r))
                self.assertIn("detail", r.json)
                self.assertLess(s, TIMEOUT_MS / 1000 + 3.0, key)
        finally:
            self.freeze(signal.SIGCONT)
        ok = wait_for(lambda: self.server.get("/api/plugins/list").status == 200, timeout=30)
        self.assertTrue(ok, "no recovery after SIGCONT")
        self.server.stop()


class TestPgDiskFull(PgFaultCase):
    """The server's database in a tablespace on a small tmpfs, filled: its
    writes fail with SQLSTATE 53100 while PostgreSQL itself is up."""

    def database_url(self):
        self.disk = SmallDisk(16)
        self.addCleanup(self.disk.remove)
        import pwd
        pw = pwd.getpwnam("postgres")
        os.chown(self.disk.dir, pw.pw_uid, pw.pw_gid)
        ts = "small_" + os.path.basename(self.disk.dir).replace("-", "_").lower()
        psql(self.url, f"CREATE TABLESPACE {ts} LOCATION '{self.disk.dir}'")
        psql(self.url, f"CREATE DATABASE {ts} TABLESPACE {ts}")
        self.addCleanup(lambda: (psql(self.url, f"DROP DATABASE IF EXISTS {ts} WITH (FORCE)"),
                                 psql(self.url, f"DROP TABLESPACE IF EXISTS {ts}")))
        return self.url.rsplit("/", 1)[0] + "/" + ts

    def test_disk_full_is_named_and_fails_nothing_else(self):
        self.assertEqual(self.server.upload("pgfull", "print('y' * 3000)\n").status, 200)
        self.disk.fill()
        # Pages PostgreSQL extended before may still take a row or two:
        # uploads of incompressible code until one needs new space.
        for i in range(100):
            code = "# " + os.urandom(30000).hex() + "\nprint(1)\n"
            r = self.server.upload(f"more{i}", code)
            if r.status != 200:
                break
        self.assertEqual(r.status, 507, r)
        self.assertIn("disk is full", r.json["detail"])
        # The database is up: reads and runs go on, none answers 503.
        self.assertEqual(self.server.get("/api/plugins/list").status, 200)
        t = fire_runs(self.server, "pgfull", scaled(10), workers=4)
        print(f"\n  PostgreSQL, disk full: {t}")
        self.assertEqual(t.other, {}, t)
        self.assertEqual(self.server.get("/api/plugins/pgfull/code").status, 200)
        h = self.health()
        self.assertEqual((h.status, h.json["status"]), (503, "degraded"), h.json)
        self.assertIs(h.json["database_ok"], True)
        self.assertIs(h.json["database_disk_full"], True)
        self.assertEqual(missing_runs(self.server, t.acked), [])
        self.disk.free()
        wait_for(lambda: self.health().json.get("runs_journaled") == 0, timeout=30)
        self.assertEqual(missing_runs(self.server, t.acked), [])
        listed = {x["run_id"] for x in self.server.get("/api/runs?limit=1000").json}
        self.assertEqual(set(t.acked) - listed, set())
        self.server.stop()


if __name__ == "__main__":
    unittest.main()
