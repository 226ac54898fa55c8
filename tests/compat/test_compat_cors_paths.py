"""Issue 12 point 9: CORS pre-flights and trailing slashes as FastAPI
answered them. The original ran CORSMiddleware with allow_headers=["*"]:
a pre-flight asking for any headers gets them back in
Access-Control-Allow-Headers (200, body "OK"). Starlette's router
(redirect_slashes) answers a path with a trailing slash with 307 to the
path without it: an absolute Location built from Host, the query string
kept, an empty body. Over SQLite and PostgreSQL."""
import unittest

from support.server import ServerCase

ORIGIN = "http://localhost:5173"  # where the original's React client runs in development

# every route, with a trailing slash, and where it must send the client
ROUTES = [("GET", "/health/", "/health"), ("GET", "/health/ollama/", "/health/ollama"),
          ("GET", "/api/models/list/", "/api/models/list"),
          ("GET", "/api/plugins/list/", "/api/plugins/list"),
          ("GET", "/api/plugins/some_plugin/code/", "/api/plugins/some_plugin/code"),
          ("DELETE", "/api/plugins/some_plugin/", "/api/plugins/some_plugin"),
          ("POST", "/api/plugins/upload/", "/api/plugins/upload"),
          ("POST", "/api/plugins/run/", "/api/plugins/run"),
          ("GET", "/api/runs/", "/api/runs"), ("GET", "/metrics/", "/metrics"),
          ("GET", "/openapi.json/", "/openapi.json"), ("GET", "/docs/", "/docs"),
          ("GET", "/api/plugins/list///", "/api/plugins/list")]


class CompatCorsPaths:
    def base(self):
        return f"http://127.0.0.1:{self.server.port}"

    def test_preflight_echoes_any_requested_headers(self):
        r = self.server.options("/api/plugins/run", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-requested-with, x-api-key"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"OK")
        self.assertEqual(r.headers.get("access-control-allow-headers"), "x-requested-with, x-api-key")
        self.assertEqual(r.headers.get("access-control-allow-origin"), ORIGIN)
        self.assertIn("POST", r.headers.get("access-control-allow-methods", ""))
        self.assertEqual(r.headers.get("access-control-max-age"), "600")

    def test_preflight_for_an_upload_with_custom_headers(self):
        r = self.server.options("/api/plugins/upload", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-client-version"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("access-control-allow-headers"),
                         "authorization,content-type,x-client-version")

    def test_trailing_slash_redirects_on_every_route(self):
        for method, path, target in ROUTES:
            with self.subTest(method=method, path=path):
                r = self.server.request(method, path)
                self.assertEqual(r.status, 307, r)
                self.assertEqual(r.headers.get("location"), self.base() + target)
                self.assertEqual(r.body, b"")
                self.assertEqual(r.headers.get("content-length"), "0")

    def test_the_query_string_is_kept(self):
        r = self.server.get("/api/runs/?limit=5&plugin=some_plugin")
        self.assertEqual(r.status, 307, r)
        self.assertEqual(r.headers.get("location"),
                         self.base() + "/api/runs?limit=5&plugin=some_plugin")
        r = self.server.get("/api/plugins/list/?limit=2&offset=0&q=a%20b")
        self.assertEqual(r.headers.get("location"),
                         self.base() + "/api/plugins/list?limit=2&offset=0&q=a%20b")

    def test_following_the_redirect_gets_the_answer(self):
        r = self.server.get("/api/plugins/list/")
        self.assertEqual(r.status, 307, r)
        loc = r.headers["location"]
        self.assertTrue(loc.startswith(self.base()), loc)
        r = self.server.get(loc[len(self.base()):])
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.json, list)

    def test_redirect_carries_cors_for_the_browser(self):
        r = self.server.get("/api/plugins/list/", headers={"Origin": ORIGIN})
        self.assertEqual(r.status, 307, r)
        self.assertEqual(r.headers.get("access-control-allow-origin"), ORIGIN)

    def test_no_redirect_where_there_is_no_route(self):
        self.assertEqual(self.server.get("/").status // 100, 2)
        for path in ("/nothing/", "/api/", "/api/nothing/"):
            with self.subTest(path=path):
                self.assertEqual(self.server.get(path).status, 404)


class TestCompatCorsPathsSqlite(CompatCorsPaths, ServerCase):
    store = "sqlite"


class TestCompatCorsPathsPostgres(CompatCorsPaths, ServerCase):
    store = "postgresql"


if __name__ == "__main__":
    unittest.main()
