"""Authentication and browsers (issue 11, point 4), performed against the
real server as an anonymous client and as a hostile web page would:

- with API_TOKEN set, nothing but /health, /openapi.json, the documentation
  pages and the web interface's files answers without the token (plugin
  code, run inputs and outputs, the Ollama address, metrics included);
- with the default configuration, a page from another origin cannot upload,
  run or delete (a multipart form POST needs no CORS pre-flight, so the
  server must refuse it: 403 naming CORS_ORIGINS), and gets no
  Access-Control-Allow-Origin to read answers with; loopback origins (the
  original's React client on http://localhost:5173) and the server's own
  origin keep working;
- a request whose Host is not an IP literal, localhost or in ALLOWED_HOSTS
  is refused (403): a DNS-rebinding page, whose name now points at
  127.0.0.1, reads nothing;
- CORS_ORIGINS=* keeps the original's open behaviour.
"""
import unittest

from support.server import ServerCase

TOKEN = "t0k3n-for-access-tests"
EVIL = "http://evil.example"
SECRET_INPUT = "the-run-input-nobody-may-read"
PLUGIN = "from platform_sdk import get_input, send_output\nsend_output(get_input())\n"


def bearer(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


class TestTokenGuardsEverything(ServerCase):
    extra_env = {"API_TOKEN": TOKEN, "ALLOWED_MODELS": "mistral:latest"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.token = None
        assert s.upload("guarded", PLUGIN, headers=bearer()).status == 200
        cls.run_id = s.run("guarded", SECRET_INPUT, headers=bearer()).json["run_id"]

    def guarded(self):
        return [("GET", "/api/plugins/list"), ("GET", "/api/plugins/guarded/code"),
                ("GET", "/api/runs"), ("GET", f"/api/runs/{self.run_id}"),
                ("GET", "/api/runs?plugin=guarded"), ("GET", "/api/models/list"),
                ("GET", "/health/ollama"), ("GET", "/metrics"), ("HEAD", "/api/runs"),
                ("DELETE", "/api/plugins/guarded")]

    def test_reads_need_the_token(self):
        for method, path in self.guarded():
            for headers in ({}, bearer("wrong"), {"Authorization": TOKEN}):
                with self.subTest(method=method, path=path, headers=headers):
                    r = self.server.request(method, path, headers=headers)
                    self.assertEqual(r.status, 401, r)
                    self.assertNotIn(SECRET_INPUT.encode(), r.body)
                    self.assertNotIn(b"print", r.body)
                    self.assertNotIn(self.server.env["OLLAMA_BASE_URL"].encode(), r.body)
                    if method != "HEAD":
                        self.assertIsInstance(r.json.get("detail"), str, r)
                    self.assertEqual(r.headers.get("www-authenticate"), "Bearer")

    def test_writes_need_the_token(self):
        self.assertEqual(self.server.upload("guarded2", PLUGIN).status, 401)
        self.assertEqual(self.server.run("guarded", "x").status, 401)
        self.assertEqual(self.server.get("/api/plugins/guarded/code", headers=bearer()).status, 200)

    def test_with_the_token_everything_answers(self):
        for method, path in self.guarded()[:-1]:
            with self.subTest(path=path):
                r = self.server.request(method, path, headers=bearer(), timeout=60)
                self.assertEqual(r.status, 200, r)
        r = self.server.get(f"/api/runs/{self.run_id}", headers=bearer())
        self.assertIn(SECRET_INPUT, r.text)

    def test_public_without_the_token(self):
        for path in ("/health", "/openapi.json", "/docs", "/"):
            with self.subTest(path=path):
                self.assertEqual(self.server.get(path).status, 200)
        # pre-flights never carry a token
        r = self.server.options("/api/runs", headers={"Origin": "http://localhost:5173",
                                                      "Access-Control-Request-Method": "GET",
                                                      "Access-Control-Request-Headers": "authorization"})
        self.assertIn(r.status, (200, 204), r)


class TestDefaultBrowserPolicy(ServerCase):
    """No API_TOKEN, no CORS_ORIGINS: the default most people run."""

    def evil_page(self, origin=EVIL):
        return {"Origin": origin}

    def test_a_foreign_page_cannot_upload_run_or_delete(self):
        s = self.server
        self.assertEqual(s.upload("victim", PLUGIN).status, 200)
        for origin in (EVIL, "null", "http://127.0.0.1.evil.example", "http://localhost.evil.example"):
            with self.subTest(origin=origin):
                h = self.evil_page(origin)
                r = s.upload("planted", "import os\nprint(os.getuid())\n", headers=h)
                self.assertDetail(r, 403)
                self.assertIn("CORS_ORIGINS", r.json["detail"])
                self.assertDetail(s.run("victim", "x", headers=h), 403)
                self.assertDetail(s.delete("/api/plugins/victim", headers=h), 403)
                self.assertDetail(s.post_json("/api/plugins/run", {"plugin_name": "victim"},
                                              headers=h), 403)
        # nothing happened
        self.assertEqual(s.get("/api/plugins/planted/code").status, 404)
        self.assertEqual(s.get("/api/plugins/victim/code").status, 200)
        self.assertEqual(s.get("/api/runs?plugin=victim").json, [])

    def test_a_cross_site_form_without_origin_is_refused(self):
        r = self.server.upload("planted2", PLUGIN, headers={"Sec-Fetch-Site": "cross-site"})
        self.assertDetail(r, 403)
        self.assertEqual(self.server.get("/api/plugins/planted2/code").status, 404)

    def test_loopback_and_own_origins_work(self):
        s = self.server
        own = f"http://127.0.0.1:{s.port}"
        for i, origin in enumerate(("http://localhost:5173", "http://127.0.0.1:3000",
                                    "http://[::1]:8080", own)):
            with self.subTest(origin=origin):
                r = s.upload(f"friend{i}", PLUGIN, headers={"Origin": origin})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers.get("access-control-allow-origin"), origin)
                r = s.run(f"friend{i}", "hi", headers={"Origin": origin})
                self.assertEqual(r.status, 200, r)
                r = s.delete(f"/api/plugins/friend{i}", headers={"Origin": origin})
                self.assertEqual(r.status, 200, r)
        # scripts and curl send no Origin at all
        self.assertEqual(s.upload("friend_cli", PLUGIN).status, 200)

    def test_answers_are_readable_only_by_allowed_origins(self):
        s = self.server
        r = s.get("/api/plugins/list", headers={"Origin": EVIL})
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.headers.get("access-control-allow-origin"), r.headers)
        self.assertIn("origin", r.headers.get("vary", "").lower())
        r = s.get("/api/plugins/list", headers={"Origin": "http://localhost:5173"})
        self.assertEqual(r.headers.get("access-control-allow-origin"), "http://localhost:5173")
        r = s.options("/api/plugins/upload", headers={"Origin": EVIL,
                                                      "Access-Control-Request-Method": "POST"})
        self.assertIsNone(r.headers.get("access-control-allow-origin"), r.headers)

    def test_dns_rebinding_host_is_refused(self):
        s = self.server
        for host in ("evil.example", f"evil.example:{s.port}", f"127.0.0.1.nip.io:{s.port}",
                     "localhost.evil.example"):
            for path in ("/api/plugins/list", "/api/runs", "/health", "/"):
                with self.subTest(host=host, path=path):
                    r = s.get(path, headers={"Host": host})
                    self.assertDetail(r, 403)
                    self.assertIn("ALLOWED_HOSTS", r.json["detail"])
            r = s.upload("rebound", PLUGIN, headers={"Host": host, "Origin": f"http://{host}"})
            self.assertDetail(r, 403)
        self.assertEqual(s.get("/api/plugins/rebound/code").status, 404)
        for host in (f"127.0.0.1:{s.port}", f"localhost:{s.port}", "localhost", f"[::1]:{s.port}",
                     "10.0.0.7"):
            with self.subTest(host=host):
                self.assertEqual(s.get("/api/plugins/list", headers={"Host": host}).status, 200)


class TestAllowedHosts(ServerCase):
    extra_env = {"ALLOWED_HOSTS": "wasmforge.test, .corp.test"}

    def test_listed_names_are_answered(self):
        s = self.server
        for host in (f"wasmforge.test:{s.port}", "a.corp.test", "corp.test"):
            with self.subTest(host=host):
                self.assertEqual(s.get("/api/plugins/list", headers={"Host": host}).status, 200)
        self.assertDetail(s.get("/api/plugins/list", headers={"Host": "other.test"}), 403)

    def test_the_own_origin_under_a_listed_name_may_write(self):
        s = self.server
        host = f"wasmforge.test:{s.port}"
        r = s.upload("named", PLUGIN, headers={"Host": host, "Origin": f"http://{host}"})
        self.assertEqual(r.status, 200, r)
        r = s.upload("named2", PLUGIN, headers={"Host": host, "Origin": "http://a.corp.test"})
        self.assertDetail(r, 403)


class TestCorsOriginsList(ServerCase):
    extra_env = {"CORS_ORIGINS": "http://app.example"}

    def test_listed_origin_may_write_others_not(self):
        s = self.server
        r = s.upload("listed", PLUGIN, headers={"Origin": "http://app.example"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("access-control-allow-origin"), "http://app.example")
        self.assertDetail(s.upload("unlisted", PLUGIN, headers={"Origin": EVIL}), 403)
        # loopback origins stay allowed beside the list
        self.assertEqual(s.upload("loop", PLUGIN, headers={"Origin": "http://localhost:5173"}).status,
                         200)


class TestCorsStarIsTheOriginalsOpenness(ServerCase):
    extra_env = {"CORS_ORIGINS": "*"}

    def test_any_origin_may_write_and_read(self):
        s = self.server
        r = s.upload("anyone", PLUGIN, headers={"Origin": EVIL})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("access-control-allow-origin"), "*")
        r = s.get("/api/plugins/list", headers={"Origin": EVIL})
        self.assertEqual(r.headers.get("access-control-allow-origin"), "*")


if __name__ == "__main__":
    unittest.main()
