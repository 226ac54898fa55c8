"""What anonymous clients can take from the server (issue 11): memory through
the lists, connections (slowloris), queued runs whose clients left, and who
may read the files the server writes. Each test attacks the real server and
asserts the bound with margin."""
import os
import socket
import stat
import time
import unittest

from support.server import Server, ServerCase, wait_for


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
        self.assertEqual(raw_get(srv.port, "/health")[0], 200)
        srv.stop()

    def test_silent_connection_is_closed_after_the_timeout(self):
        srv = Server(env={"HTTP_TIMEOUT": "2"})
        self.addCleanup(srv.cleanup)
        srv.start()
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers never end
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
