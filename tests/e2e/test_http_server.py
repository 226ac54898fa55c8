"""HTTP layer behaviour the API suites do not cover: keep-alive, answers
while runs are waiting (suspended connections), the plugin-list cache
following every write, bodies without Content-Length over the limit, HEAD,
the static UI (types, caching, no way out of its folder)."""
import gzip
import http.client
import json
import os
import socket
import tempfile
import threading
import unittest

from support.server import Server, ServerCase, wait_for

SLEEPER = "import time\nfrom platform_sdk import get_input, send_output\ntime.sleep(float(get_input() or '1'))\nsend_output('woke')\n"


class TestHttpServer(ServerCase):
    extra_env = {"MAX_PLUGIN_BYTES": "4096"}

    def test_keep_alive_many_requests_one_connection(self):
        c = http.client.HTTPConnection(self.server.host, self.server.port, timeout=10)
        try:
            for path in ["/health", "/api/plugins/list", "/nope", "/health", "/metrics"] * 4:
                c.request("GET", path)
                r = c.getresponse()
                r.read()
                self.assertNotEqual(r.getheader("Connection"), "close", path)
                self.assertIn(r.status, (200, 404))
            # an error answer keeps the connection too
            c.request("PUT", "/health", body=b"")
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 405)
            c.request("GET", "/health")
            r = c.getresponse()
            self.assertEqual(json.loads(r.read())["status"], "ok")
        finally:
            c.close()

    def test_head_has_headers_and_no_body(self):
        r = self.server.request("HEAD", "/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.headers.get("content-type"), "application/json")

    def test_slow_runs_do_not_block_other_requests(self):
        r = self.server.upload("sleeper", SLEEPER)
        self.assertEqual(r.status, 200, r)
        results = []

        def run():
            results.append(self.server.run("sleeper", "4", timeout=120))

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        # the runs are in flight (started or queued), their connections suspended: waited for, not
        # assumed after a fixed pause (on a loaded machine a run may take seconds to start)
        self.assertTrue(wait_for(lambda: self.server.gauge("wasmforge_runs_running")
                                 + self.server.gauge("wasmforge_runs_queued") >= 3, timeout=60),
                        "the three runs never got under way")
        for _ in range(20):
            self.assertEqual(self.server.get("/health").status, 200)
            self.assertEqual(self.server.get("/api/plugins/list").status, 200)
        # every one of those was answered while the runs still slept
        answered_before_runs = len(results) == 0
        for t in threads:
            t.join()
        self.assertEqual([r.status for r in results], [200, 200, 200], results)
        for r in results:
            self.assertTrue(r.json["success"], r)
            self.assertEqual(r.json["result"], "woke")
        self.assertTrue(answered_before_runs)

    def test_list_follows_every_write(self):
        for i in range(3):
            self.assertEqual(self.server.upload(f"cache_{i}", "print(1)\n").status, 200)
        names = [p["name"] for p in self.server.get("/api/plugins/list").json]
        self.assertEqual(names[:3], ["cache_2", "cache_1", "cache_0"])
        page = self.server.get("/api/plugins/list?limit=1&offset=1").json
        self.assertEqual([p["name"] for p in page], ["cache_1"])
        self.assertEqual(self.server.delete("/api/plugins/cache_1").status, 200)
        names = [p["name"] for p in self.server.get("/api/plugins/list").json]
        self.assertNotIn("cache_1", names)
        page = self.server.get("/api/plugins/list?limit=1&offset=1").json
        self.assertEqual([p["name"] for p in page], ["cache_0"])
        r = self.server.upload("cache_0", "print(2)\n", description="v2")
        self.assertEqual(r.json["version"], 2)
        first = self.server.get("/api/plugins/list").json[0]
        self.assertEqual((first["name"], first["version"], first["description"]), ("cache_0", 2, "v2"))

    def test_list_etag_and_gzip(self):
        self.assertEqual(self.server.upload("etag_a", "print(1)\n").status, 200)
        r = self.server.get("/api/plugins/list")
        etag = r.headers["etag"]
        self.assertTrue(etag.startswith('W/"'), etag)
        r2 = self.server.get("/api/plugins/list", headers={"If-None-Match": etag})
        self.assertEqual(r2.status, 304)
        self.assertEqual(r2.body, b"")
        # another page, or any write, is another ETag
        r3 = self.server.get("/api/plugins/list?limit=1", headers={"If-None-Match": etag})
        self.assertEqual(r3.status, 200)
        self.assertEqual(self.server.upload("etag_b", "print(2)\n").status, 200)
        r4 = self.server.get("/api/plugins/list", headers={"If-None-Match": etag})
        self.assertEqual(r4.status, 200)
        self.assertEqual(r4.json[0]["name"], "etag_b")
        # gzip for clients that ask (lists over 1 kB): the same list
        for i in range(6):
            self.server.upload(f"etag_more_{i}", "print(3)\n", description="x" * 100)
        plain = self.server.get("/api/plugins/list")
        self.assertGreater(len(plain.body), 1024)
        self.assertNotIn("content-encoding", plain.headers)
        r5 = self.server.get("/api/plugins/list", headers={"Accept-Encoding": "gzip, br"})
        self.assertEqual(r5.headers.get("content-encoding"), "gzip")
        self.assertIn("Accept-Encoding", r5.headers.get("vary", ""))
        self.assertEqual(json.loads(gzip.decompress(r5.body)), plain.json)

    def _chunked_upload(self, total):
        s = socket.create_connection((self.server.host, self.server.port), timeout=30)
        try:
            s.sendall(b"POST /api/plugins/upload HTTP/1.1\r\nHost: localhost\r\n"
                      b"Content-Type: multipart/form-data; boundary=b\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"x" * 8192
            sent = 0
            try:
                while sent < total:
                    s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                s.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                return None
            data = b""
            while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                more = s.recv(65536)
                if not more:
                    break
                data += more
            return data
        finally:
            s.close()

    def test_chunked_body_over_the_limit_is_413(self):
        data = self._chunked_upload(200 * 1024)
        self.assertIsNotNone(data)
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 413"), head)
        self.assertIn("at most 4096", json.loads(body)["detail"])
        self.assertEqual(self.server.get("/health").status, 200)

    def test_endless_body_is_cut_off(self):
        # far past any limit: the server stops reading and closes
        self.assertIsNone(self._chunked_upload(64 * 1024 * 1024))
        self.assertEqual(self.server.get("/health").status, 200)


class TestStaticUi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.web = tempfile.mkdtemp(prefix="wf-web-")
        os.makedirs(os.path.join(cls.web, "assets"))
        with open(os.path.join(cls.web, "index.html"), "w") as f:
            f.write("<!doctype html><title>UI</title>")
        with open(os.path.join(cls.web, "assets", "app-1234.js"), "w") as f:
            f.write("console.log(1)")
        with open(os.path.join(cls.web, ".secret"), "w") as f:
            f.write("hidden")
        outside = tempfile.mkdtemp(prefix="wf-outside-")
        with open(os.path.join(outside, "secret.txt"), "w") as f:
            f.write("secret")
        os.symlink(os.path.join(outside, "secret.txt"), os.path.join(cls.web, "assets", "link.txt"))
        cls.server = Server(env={"WEB_DIR": cls.web})
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def raw_get(self, path):
        c = http.client.HTTPConnection(self.server.host, self.server.port, timeout=10)
        try:
            c.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
            c.endheaders()
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def test_index_and_assets(self):
        r = self.server.get("/")
        self.assertEqual(r.status, 200)
        self.assertIn("text/html", r.headers["content-type"])
        self.assertEqual(r.headers["cache-control"], "no-cache")
        r = self.server.get("/assets/app-1234.js")
        self.assertEqual(r.status, 200)
        self.assertIn("javascript", r.headers["content-type"])
        self.assertIn("immutable", r.headers["cache-control"])
        etag = r.headers["etag"]
        r = self.server.get("/assets/app-1234.js", headers={"If-None-Match": etag})
        self.assertEqual(r.status, 304)
        self.assertEqual(r.body, b"")

    def test_no_way_out(self):
        for path in ["/assets/../../../../etc/passwd", "/assets/%2e%2e/%2e%2e/etc/passwd",
                     "/.secret", "/assets/link.txt", "/assets/", "/assets//app-1234.js",
                     "/assets/missing.js", "/etc/passwd"]:
            status, body = self.raw_get(path)
            self.assertEqual(status, 404, path)
            self.assertNotIn(b"root:", body)
            self.assertNotIn(b"secret", body)
            self.assertIn("detail", json.loads(body))

    def test_missing_ui_folder_shows_a_page(self):
        with Server(env={"WEB_DIR": os.path.join(self.web, "nope")}) as s:
            r = s.get("/")
            self.assertEqual(r.status, 200)
            self.assertIn("not built", r.text)
            self.assertEqual(s.get("/assets/app.js").status, 404)


if __name__ == "__main__":
    unittest.main()
