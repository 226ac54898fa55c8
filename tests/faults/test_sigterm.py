"""SIGTERM with a long run in flight: new connections are refused at once
(the listening socket is closed, not left to fill its backlog), a client
already connected hears /health say "draining" with 503, and the run in
flight still completes and is answered and recorded."""
import http.client
import signal
import socket
import threading
import time
import unittest

from support.server import Server, wait_for

SLOW = "import time\ntime.sleep(3)\nprint('done')\n"


class TestSigterm(unittest.TestCase):
    def test_sigterm_refuses_new_connections_and_finishes_runs(self):
        server = Server(env={"SHUTDOWN_GRACE": "20"})
        server.start()
        self.addCleanup(server.cleanup)
        self.assertEqual(server.upload("slowterm", SLOW).status, 200)
        kept = http.client.HTTPConnection(server.host, server.port, timeout=10)
        kept.request("GET", "/health")
        r = kept.getresponse()
        r.read()
        self.assertEqual(r.status, 200)

        answer = {}
        t = threading.Thread(target=lambda: answer.update(r=server.run("slowterm", timeout=60)))
        t.start()
        self.assertTrue(wait_for(lambda: server.gauge("wasmforge_runs_running") >= 1, timeout=30))
        server.proc.send_signal(signal.SIGTERM)
        self.assertTrue(wait_for(lambda: "draining" in server.log(), timeout=5), server.log())

        # A new connection: refused (or answered 503), never left hanging.
        t0 = time.monotonic()
        outcome = None
        try:
            with socket.create_connection((server.host, server.port), timeout=5) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                data = s.recv(4096)
                outcome = data.split(b"\r\n", 1)[0].decode() if data else "closed"
        except (ConnectionRefusedError, ConnectionResetError) as e:
            outcome = type(e).__name__
        except socket.timeout:
            outcome = "hung"
        waited = time.monotonic() - t0
        print(f"\n  new connection during the grace period: {outcome} after "
              f"{waited * 1000:.0f} ms")
        self.assertTrue(outcome in ("ConnectionRefusedError", "ConnectionResetError", "closed")
                        or " 503 " in outcome, outcome)
        self.assertLess(waited, 1.0)

        # The connection opened before: /health says draining.
        kept.request("GET", "/health")
        r = kept.getresponse()
        body = r.read()
        self.assertEqual(r.status, 503, body)
        self.assertIn(b'"status":"draining"', body)
        kept.close()

        t.join(60)
        res = answer["r"]
        self.assertEqual(res.status, 200, res)
        self.assertTrue(res.json["success"], res.json)
        self.assertEqual(res.json["output"].strip(), "done")
        self.assertEqual(server.stop(timeout=60), 0)


if __name__ == "__main__":
    unittest.main()
