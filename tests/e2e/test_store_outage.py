"""PostgreSQL going away under a running server: answers 503 with a detail
(and /health says "degraded"), then recovers by itself once it is back."""
import unittest
import uuid

from support.server import ServerCase, pg_admin_url, psql, wait_for


class TestPostgresOutage(ServerCase):
    store = "postgresql"
    with_double = False

    def set_connections(self, allowed):
        admin = pg_admin_url()
        psql(admin, f'ALTER DATABASE "{self.pg_name}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        if not allowed:
            psql(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        f"WHERE datname = '{self.pg_name}' AND pid <> pg_backend_pid()")

    def health(self, status):
        r = self.server.get("/health", timeout=30)
        return r if r.status == status else None

    def tearDown(self):
        self.set_connections(True)

    def test_outage_is_503_then_recovers(self):
        name = "outage_" + uuid.uuid4().hex[:8]
        self.assertEqual(self.server.upload(name, "print(1)\n").status, 200)
        self.set_connections(False)

        r = self.server.get("/api/plugins/list", timeout=30)
        self.assertDetail(r, 503)
        r = self.server.get(f"/api/plugins/{name}/code", timeout=30)
        self.assertDetail(r, 503)
        r = self.server.upload(name + "_2", "print(2)\n", timeout=30)
        self.assertDetail(r, 503)
        # /health reports the last database check (made at most once a
        # second, never on the request's own time): it turns within seconds.
        h = wait_for(lambda: self.health(503), timeout=30)
        self.assertTrue(h, "/health did not report the outage")
        self.assertEqual(h.json["status"], "degraded")
        self.assertIs(h.json["database_ok"], False)

        self.set_connections(True)
        ok = wait_for(lambda: self.server.get("/api/plugins/list").status == 200, timeout=30)
        self.assertTrue(ok, "the server did not recover after PostgreSQL came back")
        names = [p["name"] for p in self.server.get("/api/plugins/list?limit=1000").json]
        self.assertIn(name, names)
        self.assertNotIn(name + "_2", names)
        h = wait_for(lambda: self.health(200), timeout=30)
        self.assertTrue(h, "/health did not report the recovery")
        self.assertEqual(h.json["status"], "ok")

    def test_killed_connections_are_replaced(self):
        self.assertEqual(self.server.get("/api/plugins/list").status, 200)
        psql(pg_admin_url(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             f"WHERE datname = '{self.pg_name}' AND pid <> pg_backend_pid()")
        # A request may see its dead connection once; none may fail otherwise,
        # and the store must be back without a restart.
        statuses = [self.server.get("/api/plugins/list").status for _ in range(10)]
        self.assertTrue(set(statuses) <= {200, 503}, statuses)
        self.assertEqual(statuses[-3:], [200, 200, 200], statuses)


if __name__ == "__main__":
    unittest.main()
