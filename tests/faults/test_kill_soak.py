"""SIGKILL of the server under a load of runs and uploads, again and again
(2 kills here; `make test-faults-long` makes it 20 and more load): after each
restart the server is healthy, and every run and upload answered before a
kill is there."""
import signal
import threading
import time
import unittest

from faultkit import Tally, missing_runs, scaled
from support.server import Server, wait_for


class TestKillSoak(unittest.TestCase):
    def test_sigkill_loses_nothing_answered(self):
        server = Server(env={"SHUTDOWN_GRACE": "2"})
        server.start()
        self.addCleanup(server.cleanup)
        self.assertEqual(server.upload("soak", "print('soak')\n").status, 200)
        tally, uploads, lock = Tally(), [], threading.Lock()
        kills = scaled(2)
        for k in range(kills):
            stop = threading.Event()

            def load(i):
                n = 0
                while not stop.is_set():
                    n += 1
                    try:
                        if n % 3 == 0:
                            name = f"up_{k}_{i}_{n}"
                            r = server.upload(name, f"print({n})\n", timeout=30)
                            if r.status == 200:
                                with lock:
                                    uploads.append(name)
                            continue
                        r = server.run("soak", f"{k} {i} {n}", timeout=30)
                    except Exception as e:
                        r = e
                    with lock:
                        tally.add(r)

            threads = [threading.Thread(target=load, args=(i,)) for i in range(6)]
            for t in threads:
                t.start()
            wait_for(lambda: len(tally.acked) >= 20 * (k + 1), timeout=60)
            time.sleep(0.3)
            server.stop(sig=signal.SIGKILL, expect_code=None)
            stop.set()
            for t in threads:
                t.join()
            t0 = time.monotonic()
            server.start()
            self.assertEqual(server.get("/health").status, 200)
            print(f"\n  kill {k + 1}/{kills}: restarted healthy in "
                  f"{(time.monotonic() - t0) * 1000:.0f} ms; {tally}, uploads={len(uploads)}")
        self.assertEqual(missing_runs(server, tally.acked), [])
        names = {p["name"] for p in server.get("/api/plugins/list?limit=1000").json}
        self.assertEqual(set(uploads) - names, set())
        server.stop()


if __name__ == "__main__":
    unittest.main()
