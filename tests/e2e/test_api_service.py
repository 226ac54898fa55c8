"""API conformance (SPEC §3): health, Ollama status, models, metrics, the API
description, CORS, 404/405 and auth, against the real server."""
import unittest

from support.ollama_double import DEFAULT_MODELS, closed_port_url
from support.server import ServerCase, wait_for

DOUBLE_NAMES = [m["name"] for m in DEFAULT_MODELS]
# A bound on how long "Ollama is slow" may hold an answer: the server must
# give up well before it (the double waits longer than this).
SLOW_OLLAMA_S = 40
CLIENT_PATIENCE_S = 20


class HealthApi:
    def test_health_shape(self):
        r = self.server.get("/health")
        self.assertEqual(r.status, 200, r)
        b = r.json
        self.assertEqual(b["status"], "ok")
        self.assertIsInstance(b["wasmedge"], bool)
        self.assertIn(b["sandbox"], ("wasm", "native"))
        self.assertEqual(b["wasmedge"], b["sandbox"] == "wasm")
        self.assertIsInstance(b["version"], str)
        self.assertEqual(b["database"], self.store)
        self.assertIs(b["database_ok"], True)


class TestHealthSqlite(HealthApi, ServerCase):
    store = "sqlite"


class TestHealthPostgres(HealthApi, ServerCase):
    store = "postgresql"


class TestServiceEndpoints(ServerCase):
    """Everything that does not depend on the store kind."""

    def test_ollama_connected(self):
        b = self.ollama_status("connected")
        self.assertEqual(b["url"].rstrip("/"), self.double.url)
        self.assertEqual(b["models"], DOUBLE_NAMES)
        self.assertEqual(b["version"], "0.5.7")

    def ollama_status(self, want):
        """/health/ollama once it says `want`: the server answers from
        Ollama's last known state, which follows Ollama within seconds."""
        last = []

        def seen():
            r = self.server.get("/health/ollama", timeout=CLIENT_PATIENCE_S)
            self.assertEqual(r.status, 200, r)
            last[:] = [r.json]
            return r.json["status"] == want
        wait_for(seen, timeout=CLIENT_PATIENCE_S)
        self.assertEqual(last[0]["status"], want, last[0])
        return last[0]

    def test_ollama_slow_is_disconnected_in_time(self):
        self.double.configure(delay=SLOW_OLLAMA_S)
        b = self.ollama_status("disconnected")
        self.assertTrue(b["error"])
        # the server keeps answering meanwhile
        self.assertEqual(self.server.get("/health", timeout=CLIENT_PATIENCE_S).status, 200)

    def test_ollama_garbage_is_disconnected(self):
        for fault in ("garbage", "http500", "drop"):
            with self.subTest(fault=fault):
                self.double.configure(fault=fault)
                b = self.ollama_status("disconnected")
                self.assertIsInstance(b["error"], str)
                self.assertEqual(b["url"].rstrip("/"), self.double.url)
                self.double.configure(fault=None)
                self.ollama_status("connected")

    def test_models_every_model_with_star(self):
        r = self.server.get("/api/models/list")
        self.assertEqual(r.status, 200, r)
        models = {m["name"]: m for m in r.json}
        self.assertEqual([m["name"] for m in r.json], DOUBLE_NAMES)
        for m in r.json:
            for k in ("name", "type", "description", "available", "allowed", "family",
                      "parameter_size", "quantization", "size_bytes"):
                self.assertIn(k, m)
            self.assertIs(m["available"], True)
            self.assertIs(m["allowed"], True)
        # the original's table for its four models, "text" and "<name> model" else
        self.assertEqual(models["nomic-embed-text:latest"]["type"], "text")
        self.assertEqual(models["llava:7b"]["description"], "llava:7b model")
        self.assertEqual(models["mistral:latest"]["type"], "code")
        self.assertEqual(models["mistral:latest"]["parameter_size"], "7.2B")
        self.assertEqual(models["mistral:latest"]["quantization"], "Q4_0")
        self.assertEqual(models["mistral:latest"]["size_bytes"], 4113301824)
        self.assertEqual(models["gemma2:2b"]["family"], "gemma2")

    def test_metrics(self):
        self.server.get("/health")
        r = self.server.get("/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers.get("content-type", "").startswith("text/plain"), r.headers)
        for name in ("wasmforge_runs_total", "wasmforge_run_duration_seconds",
                     "wasmforge_ai_calls_total", "wasmforge_runs_queued",
                     "wasmforge_sandbox_start_seconds"):
            self.assertIn(f"# TYPE {name} ", r.text)
        for line in r.text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                float(value)  # every sample is a number

    def test_openapi(self):
        r = self.server.get("/openapi.json")
        self.assertEqual(r.status, 200, r)
        doc = r.json
        self.assertTrue(doc["openapi"].startswith("3.1"), doc.get("openapi"))
        self.assertIn("title", doc["info"])
        for path in ("/health", "/health/ollama", "/api/models/list", "/api/plugins/list",
                     "/api/plugins/{name}/code", "/api/plugins/upload", "/api/plugins/{name}",
                     "/api/plugins/run", "/api/runs", "/api/runs/{run_id}", "/metrics"):
            self.assertIn(path, doc["paths"])
        self.assertIn("post", doc["paths"]["/api/plugins/upload"])
        self.assertIn("delete", doc["paths"]["/api/plugins/{name}"])

    def test_docs_page(self):
        r = self.server.get("/docs")
        self.assertEqual(r.status, 200, r)
        self.assertIn("text/html", r.headers.get("content-type", ""))
        self.assertIn("openapi.json", r.text)

    def test_unknown_path_is_404_json(self):
        r = self.server.get("/api/nothing/here")
        self.assertDetail(r, 404)
        self.assertIn("application/json", r.headers.get("content-type", ""))

    def test_wrong_method_is_405(self):
        for method, path in (("DELETE", "/health"), ("GET", "/api/plugins/upload"),
                             ("PUT", "/api/plugins/list"), ("GET", "/api/plugins/run"),
                             ("POST", "/api/models/list")):
            with self.subTest(method=method, path=path):
                self.assertDetail(self.server.request(method, path), 405)

    def test_cors_on_every_answer(self):
        origin = {"Origin": "http://localhost:5173"}
        for path in ("/health", "/api/plugins/list", "/api/nothing", "/api/plugins/x/code"):
            with self.subTest(path=path):
                r = self.server.get(path, headers=origin)
                self.assertIn(r.headers.get("access-control-allow-origin"),
                              ("*", "http://localhost:5173"), r.headers)

    def test_cors_preflight(self):
        r = self.server.options("/api/plugins/upload", headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        self.assertIn(r.status, (200, 204), r)
        self.assertIn(r.headers.get("access-control-allow-origin"), ("*", "http://localhost:5173"))
        self.assertIn("POST", r.headers.get("access-control-allow-methods", "").upper())
        self.assertIn("authorization", r.headers.get("access-control-allow-headers", "").lower())

    def test_server_error_never(self):
        # a grab bag of odd requests: none may crash or answer 500
        odd = [("GET", "/api/plugins/list?limit=99999999999999999999"),
               ("GET", "/api/plugins//code"), ("GET", "/%ff%fe"), ("POST", "/api/plugins/run"),
               ("GET", "/api/runs?limit=abc"), ("GET", "/health?" + "a=b&" * 500)]
        for method, path in odd:
            with self.subTest(path=path[:60]):
                r = self.server.request(method, path)
                self.assertLess(r.status, 500, r)
        self.assertEqual(self.server.get("/health").status, 200)


class TestOllamaDown(ServerCase):
    with_double = False
    extra_env = {"OLLAMA_BASE_URL": closed_port_url(),
                 "ALLOWED_MODELS": "mistral:latest,gemma2:2b"}

    def test_health_ollama_disconnected(self):
        r = self.server.get("/health/ollama", timeout=CLIENT_PATIENCE_S)
        self.assertEqual(r.status, 200, r)
        b = r.json
        self.assertEqual(b["status"], "disconnected")
        self.assertEqual(b["url"].rstrip("/"), self.extra_env["OLLAMA_BASE_URL"])
        self.assertIsInstance(b["error"], str)
        self.assertTrue(b["error"])

    def test_models_unavailable(self):
        r = self.server.get("/api/models/list", timeout=CLIENT_PATIENCE_S)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([m["name"] for m in r.json], ["mistral:latest", "gemma2:2b"])
        for m in r.json:
            self.assertIs(m["available"], False)
            self.assertIs(m["allowed"], True)

    def test_health_still_ok(self):
        self.assertEqual(self.server.get("/health").json["status"], "ok")


class TestAllowlist(ServerCase):
    extra_env = {"ALLOWED_MODELS": "gemma2:2b,ghost:7b,mistral:latest"}

    def test_models_in_allowlist_order_with_availability(self):
        self.availability([True, False, True])
        r = self.server.get("/api/models/list")
        for m in r.json:
            self.assertIs(m["allowed"], True)
            self.assertIn(m["type"], ("text", "code", "embedding", "vision"))

    def availability(self, want):
        """/api/models/list's `available` flags once they are `want` (the
        list follows Ollama's last known state)."""
        last = []

        def seen():
            r = self.server.get("/api/models/list", timeout=CLIENT_PATIENCE_S)
            self.assertEqual(r.status, 200, r)
            self.assertEqual([m["name"] for m in r.json],
                             ["gemma2:2b", "ghost:7b", "mistral:latest"])
            last[:] = [[m["available"] for m in r.json]]
            return last[0] == want
        wait_for(seen, timeout=CLIENT_PATIENCE_S)
        self.assertEqual(last[0], want)

    def test_broken_ollama_models_unavailable(self):
        for fault in ("garbage", "http500", "drop"):
            with self.subTest(fault=fault):
                self.double.configure(fault=fault)
                self.availability([False, False, False])
                self.double.configure(fault=None)
                self.availability([True, False, True])

    def test_slow_ollama_models_answer_in_time(self):
        self.double.configure(delay=SLOW_OLLAMA_S)
        self.availability([False, False, False])


class TestCorsOrigins(ServerCase):
    extra_env = {"CORS_ORIGINS": "http://app.example,http://other.example"}

    def test_listed_origin_is_allowed(self):
        r = self.server.get("/health", headers={"Origin": "http://other.example"})
        self.assertEqual(r.headers.get("access-control-allow-origin"), "http://other.example")
        self.assertIn("origin", r.headers.get("vary", "").lower())

    def test_other_origin_is_not(self):
        r = self.server.get("/health", headers={"Origin": "http://evil.example"})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(r.headers.get("access-control-allow-origin"), ("*", "http://evil.example"))


class TestManyClients(ServerCase):
    with_double = False

    def test_many_concurrent_connections(self):
        import threading
        statuses = []

        def one():
            try:
                statuses.append(self.server.get("/health", timeout=60).status)
            except OSError as e:
                statuses.append(repr(e))

        threads = [threading.Thread(target=one) for _ in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(statuses, [200] * 200)

    def test_oversized_request_line_and_headers(self):
        for method, path, headers in (("GET", "/health?" + "x" * 100000, {}),
                                      ("GET", "/health", {"X-Big": "y" * 100000})):
            try:
                r = self.server.request(method, path, headers=headers)
                self.assertIn(r.status, (200, 400, 413, 414, 431), r)
            except (ConnectionError, OSError):
                pass  # closing the connection is a fair answer too
        self.assertEqual(self.server.get("/health").status, 200)


TOKEN = "s3cr3t-token-for-tests"


class TestAuth(ServerCase):
    extra_env = {"API_TOKEN": TOKEN}

    def setUp(self):
        super().setUp()
        self.server.token = None  # every request below says what it sends

    def bearer(self, t):
        return {"Authorization": f"Bearer {t}"}

    def test_writes_need_the_token(self):
        for headers in ({}, self.bearer("wrong"), {"Authorization": TOKEN},
                        {"Authorization": "Basic " + TOKEN}, self.bearer(TOKEN + "x")):
            with self.subTest(headers=headers):
                self.assertDetail(self.server.upload("authx", "print(1)\n", headers=headers), 401)
                self.assertDetail(self.server.delete("/api/plugins/authx", headers=headers), 401)
                self.assertDetail(self.server.run("authx", "", headers=headers), 401)
        self.assertEqual(self.server.get("/api/plugins/authx/code", headers=self.bearer(TOKEN)).status,
                         404)

    def test_right_token_works_and_reads_need_it_too(self):
        r = self.server.upload("authy", "print(1)\n", headers=self.bearer(TOKEN))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.server.get("/api/plugins/list").status, 401)
        self.assertEqual(self.server.get("/api/plugins/list", headers=self.bearer(TOKEN)).status, 200)
        self.assertEqual(self.server.get("/api/plugins/authy/code", headers=self.bearer(TOKEN)).status,
                         200)
        self.assertEqual(self.server.get("/health").status, 200)
        r = self.server.delete("/api/plugins/authy", headers=self.bearer(TOKEN))
        self.assertEqual(r.status, 200, r)

    def test_preflight_needs_no_token(self):
        r = self.server.options("/api/plugins/upload", headers={
            "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"})
        self.assertIn(r.status, (200, 204), r)

    def test_token_never_logged(self):
        self.server.upload("authz", "print(1)\n", headers=self.bearer("wrong-" + TOKEN))
        self.assertNotIn(TOKEN, self.server.log())


class TestDoubleRecordsWhatTheServerSent(ServerCase):
    def test_models_list_asks_tags(self):
        # the list follows Ollama's state, looked at again once it is a
        # second old: asking keeps it fresh
        def asked():
            self.server.get("/api/models/list")
            return "/api/tags" in [r["path"] for r in self.double.requests()]
        self.assertTrue(wait_for(asked, timeout=20, interval=0.3))


if __name__ == "__main__":
    unittest.main()
