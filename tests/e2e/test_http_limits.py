"""What anonymous clients can take from the server (issue 11): memory through
the lists, connections (slowloris), queued runs whose clients left, and who
may read the files the server writes. Each test attacks the real server and
asserts the bound with margin."""
import concurrent.futures
import os
import socket
import stat
import threading
import time
import unittest

from support.server import Server, ServerCase, binary, wait_for


def sanitized():
    """Is the server the ASan build? Its quarantine keeps freed memory (up
    to 256 MB) and its shadow adds more, so RSS bounds mean nothing there:
    they are checked on the plain build; everything else on both."""
    try:
        with open(binary(), "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def status_kb(pid, key):
    """A figure of /proc/PID/status in kB (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def raw_get(port, path, source="127.0.0.1", timeout=5.0):
    """GET path from a chosen source address; (status, seconds, body)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0))
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1]) if head else 0
    return status, time.monotonic() - t0, body


def reset_peak(pid):
    """Start VmHWM afresh from the current RSS (proc(5): clear_refs 5)."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


BIG = """import sys
sys.stdout.write(("o" * 1023 + "\\n") * 1024)
sys.stderr.write(("e" * 1023 + "\\n") * 1024)
"""


class ListMemoryTest(ServerCase):
    """Big history and big plugin metadata; 10 lists at once of each kind."""
    N_RUNS = 24
    N_PLUGINS = 60

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        assert s.upload("big_output", BIG).status == 200
        for _ in range(cls.N_RUNS):
            r = s.run("big_output", "i" * 60000, timeout=120)
            assert r.status == 200 and r.json["success"], r
        for i in range(cls.N_PLUGINS):
            r = s.upload(f"meta_{i}", "print(1)\n", description=f"{i}" + "d" * 60000,
                         input_hint=f"{i}" + "h" * 60000)
            assert r.status == 200, r

    def test_ten_concurrent_lists_of_each_kind(self):
        s = self.server
        pid = s.proc.pid
        # Warm up (store connections, page caches), then measure the peak.
        self.assertEqual(s.get("/api/runs?limit=1000").status, 200)
        self.assertEqual(s.get("/api/plugins/list").status, 200)
        base = status_kb(pid, "VmRSS")
        reset_peak(pid)

        stop = threading.Event()
        health = []

        def poll_health():
            while not stop.is_set():
                st, secs, _ = raw_get(s.port, "/health", source="127.0.0.2")
                health.append((st, secs))
                time.sleep(0.01)

        def one(path):
            r = s.get(path, timeout=120)
            return r.status, len(r.body)

        poller = threading.Thread(target=poll_health)
        poller.start()
        try:
            paths = [f"/api/runs?limit={1000 - i}" for i in range(10)]
            paths += [f"/api/plugins/list?limit={1000 - i}" for i in range(10)]
            with concurrent.futures.ThreadPoolExecutor(max_workers=20) as ex:
                results = list(ex.map(one, paths))
            time.sleep(0.2)
        finally:
            stop.set()
            poller.join()
        peak = status_kb(pid, "VmHWM")
        growth_mb = (peak - base) / 1024

        runs, plugins = results[:10], results[10:]
        for st, size in runs:
            self.assertEqual(st, 200)
            # Summaries: a few hundred bytes a run, whatever the runs wrote.
            self.assertLess(size, 1000 * self.N_RUNS)
        self.assertTrue(all(st in (200, 503) for st, _ in plugins), plugins)
        self.assertIn(200, [st for st, _ in plugins])
        full = [size for st, size in plugins if st == 200]
        self.assertGreater(min(full), self.N_PLUGINS * 120000)  # descriptions kept
        if not sanitized():
            self.assertLess(growth_mb, 64, f"RSS grew by {growth_mb:.1f} MB")
        self.assertTrue(health and all(st == 200 for st, _ in health), health[:5])
        lat = sorted(secs for _, secs in health)
        p90 = lat[int(len(lat) * 0.9)]
        self.assertLess(p90, 0.1, f"/health p90 {p90 * 1000:.0f} ms over {len(lat)} requests")
        self.assertLess(lat[-1], 1.0, f"/health worst {lat[-1] * 1000:.0f} ms")
        print(f"\n  lists: RSS +{growth_mb:.1f} MB at peak; /health p90 {p90 * 1000:.1f} ms, "
              f"worst {lat[-1] * 1000:.1f} ms over {len(lat)}; plugin list statuses "
              f"{sorted(st for st, _ in plugins)}")

    def test_run_list_holds_summaries_and_the_record_stays_whole(self):
        lst = self.server.get("/api/runs?plugin=big_output&limit=1").json
        self.assertEqual(set(lst[0]), {"run_id", "plugin", "version", "success", "error_type",
                                       "ai_calls", "duration_ms", "started_at"})
        one = self.server.get("/api/runs/" + lst[0]["run_id"]).json
        self.assertGreater(len(one["output"]), 1000000)
        self.assertEqual(one["input_data"], "i" * 60000)

    def test_page_sizes_have_a_maximum(self):
        for path in ("/api/runs?limit=1001", "/api/plugins/list?limit=1001"):
            self.assertDetail(self.server.get(path), 422)


class ListMemoryTestPostgres(ListMemoryTest):
    store = "postgresql"


class HistoryPruningTest(unittest.TestCase):
    def test_history_is_kept_within_the_row_limit(self):
        srv = Server(env={"RUN_HISTORY_MAX_ROWS": "2"})
        self.addCleanup(srv.cleanup)
        srv.start()
        self.assertEqual(srv.upload("pruned", "print(1)\n").status, 200)
        ids = [srv.run("pruned").json["run_id"] for _ in range(4)]
        srv.stop()
        srv.start()  # a pass at start, then every few minutes
        kept = wait_for(lambda: [r["run_id"] for r in srv.get("/api/runs").json]
                        if len(srv.get("/api/runs").json) == 2 else None, 10)
        self.assertEqual(kept, ids[:1:-1])  # the two newest, newest first
        self.assertEqual(srv.get("/api/runs/" + ids[0]).status, 404)
        self.assertTrue(srv.wait_log(r"old run\(s\) removed"), srv.log()[-2000:])
        srv.stop()


class QueuedRunsTest(ServerCase):
    """One slot, held by a run waiting on the Ollama double; 300 runs queue
    behind it and their clients hang up."""
    extra_env = {"MAX_CONCURRENT_RUNS": "1", "HTTP_MAX_CONNECTIONS_PER_IP": "0"}

    def test_runs_whose_clients_left_are_dropped_and_queued_runs_are_small(self):
        s, d = self.server, self.double
        call = 'from platform_sdk import call_ai\nprint(call_ai("mistral:latest", "%s"))\n'
        self.assertEqual(s.upload("blocker", call % "block").status, 200)
        # 500 kB of code: held once for all its queued runs, not once each.
        big = call % "marker" + ("# " + "x" * 97 + "\n") * 5000
        self.assertEqual(s.upload("marker", big).status, 200)
        # The blocker must hold the slot until all 300 are queued: sending
        # them takes several seconds on a loaded machine, more under ASan.
        hold = 40 if sanitized() else 15
        d.configure(delay=hold, fault_paths=["/api/generate"])
        blocker = concurrent.futures.ThreadPoolExecutor(1).submit(s.run, "blocker",
                                                                  timeout=hold + 60)
        self.assertTrue(wait_for(lambda: d.requests("/api/generate"), 20))
        pid = s.proc.pid
        base = status_kb(pid, "VmRSS")

        body = "plugin_name=marker&input_data=" + "i" * 10000
        req = (f"POST /api/plugins/run HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Content-Type: application/x-www-form-urlencoded\r\n"
               f"Content-Length: {len(body)}\r\n\r\n{body}").encode()
        socks = []
        try:
            for _ in range(300):
                c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
                c.sendall(req)
                socks.append(c)
            self.assertTrue(wait_for(lambda: s.gauge("wasmforge_runs_queued") == 300, 30),
                            s.gauge("wasmforge_runs_queued"))
            growth_mb = (status_kb(pid, "VmRSS") - base) / 1024
        finally:
            for c in socks:
                c.close()
        print(f"\n  300 queued runs: RSS +{growth_mb:.1f} MB")
        # 300 x (10 kB input + a small record + the connection's buffers);
        # the code is shared (unshared it alone would be 150 MB).
        if not sanitized():
            self.assertLess(growth_mb, 40)

        r = blocker.result(timeout=60)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(wait_for(lambda: s.gauge("wasmforge_runs_queued") == 0, 30))
        runs = wait_for(lambda: [x for x in s.get("/api/runs?plugin=marker&limit=1000").json]
                        if len(s.get("/api/runs?plugin=marker&limit=1000").json) == 300
                        else None, 30)
        self.assertTrue(runs, "the 300 dropped runs are recorded")
        self.assertTrue(all(not x["success"] and x["error_type"] == "runtime_error"
                            for x in runs), runs[:3])
        one = s.get("/api/runs/" + runs[0]["run_id"]).json
        self.assertIn("client disconnected before it started", one["error"])
        prompts = [q["body"].get("prompt") for q in d.requests("/api/generate")]
        self.assertEqual(prompts.count("marker"), 0, "a dropped run reached Ollama")
        self.assertEqual(prompts.count("block"), 1)

        # A client that waits still gets its queued run.
        d.configure(delay=0)
        self.assertEqual(s.run("marker", "x", timeout=60).json["success"], True)


class SlowlorisTest(unittest.TestCase):
    def test_idle_half_open_connections_do_not_starve_other_clients(self):
        """2,000 connections from 127.0.0.1 each send half a request line and
        wait; /health from 127.0.0.2 still answers within 100 ms."""
        srv = Server()
        self.addCleanup(srv.cleanup)
        srv.start()
        socks = []
        try:
            for _ in range(2000):
                try:
                    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5,
                                                 source_address=("127.0.0.1", 0))
                    s.setblocking(False)
                    try:
                        s.send(b"GET /health HT")
                    except OSError:
                        pass  # refused after accept: the per-address limit
                    socks.append(s)
                except OSError:
                    break  # our own descriptor limit; the server's side is what counts
            self.assertGreaterEqual(len(socks), 1500, "could not open enough sockets")
            time.sleep(0.5)  # let the server accept (and refuse) the backlog
            times = []
            for _ in range(21):
                st, secs, body = raw_get(srv.port, "/health", source="127.0.0.2")
                self.assertEqual(st, 200, body)
                times.append(secs)
            # The bound is 100 ms; the median keeps a shared, busy test
            # machine's scheduling hiccups out of it (unfixed, every
            # request waits for the socket timeout).
            times.sort()
            self.assertLess(times[10], 0.1, f"/health took {times[10] * 1000:.0f} ms (median)")
            self.assertLess(times[-1], 1.0, f"/health took {times[-1] * 1000:.0f} ms (worst)")
            # The per-address limit: most of the 2,000 were closed by the server.
            open_ = 0
            for s in socks:
                try:
                    if s.recv(1) == b"":
                        continue
                except BlockingIOError:
                    open_ += 1
                except OSError:
                    continue
            self.assertLessEqual(open_, 256 + 16)
        finally:
            for s in socks:
                s.close()

        # The address's own connections are served again once the server has
        # seen the closes (it may still count them for a moment: under load
        # and ASan, a new one from 127.0.0.1 can meet the per-address limit).
        def health_from_the_flooder():
            try:
                return raw_get(srv.port, "/health")[0] == 200
            except OSError:
                return False
        self.assertTrue(wait_for(health_from_the_flooder, 30), "127.0.0.1 is not served again")
        srv.stop()

    def test_silent_connection_is_closed_after_the_timeout(self):
        srv = Server(env={"HTTP_TIMEOUT": "2"})
        self.addCleanup(srv.cleanup)
        srv.start()
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never end
        t0 = time.monotonic()
        self.assertEqual(s.recv(100), b"")  # closed by the server
        self.assertLess(time.monotonic() - t0, 8)
        s.close()
        srv.stop()


class FileModesTest(unittest.TestCase):
    def test_data_dir_and_database_are_private(self):
        srv = Server()
        self.addCleanup(srv.cleanup)
        srv.start()
        self.assertEqual(srv.upload("modes", "print(1)\n").status, 200)
        data = srv.env["DATA_DIR"]
        self.assertEqual(stat.S_IMODE(os.stat(data).st_mode), 0o700)
        files = [f for f in os.listdir(data) if f.startswith("wasmforge.db")]
        self.assertIn("wasmforge.db", files)
        for f in files:
            mode = stat.S_IMODE(os.stat(os.path.join(data, f)).st_mode)
            self.assertEqual(mode & 0o077, 0, f"{f} is {mode:o}")
        srv.stop()

    def test_database_left_readable_by_an_older_server_is_made_private(self):
        srv = Server()
        self.addCleanup(srv.cleanup)
        srv.start()
        srv.stop()
        db = os.path.join(srv.env["DATA_DIR"], "wasmforge.db")
        os.chmod(db, 0o644)
        srv.start()
        self.assertEqual(stat.S_IMODE(os.stat(db).st_mode), 0o600)
        srv.stop()


if __name__ == "__main__":
    unittest.main()
