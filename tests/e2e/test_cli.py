"""The wasmforge command itself: --help, --version, check, configuration
errors (exit 2 naming the key), .env handling and signals (SPEC §1-2)."""
import json
import os
import signal
import tempfile
import unittest
from urllib.parse import urlsplit

from support.ollama_double import OllamaDouble, closed_port_url
from support.server import (ROOT, Server, pg_create_database, pg_drop_database, run_cli,
                            api_sandbox)

CONFIG_EXIT = 2


def version():
    with open(os.path.join(ROOT, "VERSION")) as f:
        return f.read().strip()


class TestCommandLine(unittest.TestCase):
    def test_help(self):
        p = run_cli(["--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        for word in ("serve", "run", "check", "--version"):
            self.assertIn(word, p.stdout)

    def test_version(self):
        p = run_cli(["--version"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(version(), p.stdout)

    def test_unknown_command(self):
        p = run_cli(["frobnicate"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("frobnicate", p.stderr)

    def test_check_all_good(self):
        with OllamaDouble() as d, tempfile.TemporaryDirectory() as tmp:
            p = run_cli(["check"], env={"OLLAMA_BASE_URL": d.url, "DATA_DIR": tmp,
                                        "API_TOKEN": "check-secret-123",
                                        "SANDBOX": api_sandbox()}, cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("ollama: ok", p.stdout)
            self.assertNotIn("check-secret-123", p.stdout + p.stderr)

    def test_check_reports_ollama_down(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = run_cli(["check"], env={"OLLAMA_BASE_URL": closed_port_url(), "DATA_DIR": tmp},
                        cwd=tmp)
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertIn("ollama", p.stdout.lower())


class TestConfigErrors(unittest.TestCase):
    BAD = {
        "PORT": ["abc", "70000", "-1", ""],
        "MAX_EXECUTION_TIME": ["-5", "0", "ten", "1e9"],
        "MAX_PROMPT_LENGTH": ["x"],
        "MAX_AI_CALLS_PER_EXECUTION": ["-1"],
        "MAX_MEMORY_MB": ["lots"],
        "MAX_PLUGIN_BYTES": ["1MB"],
        "USE_WASMEDGE": ["maybe"],
        "SANDBOX": ["docker"],
        "LOG_LEVEL": ["loud"],
        "LOG_FORMAT": ["xml"],
        "OLLAMA_BASE_URL": ["localhost:11434", "ftp://x"],
        "DATABASE_URL": ["mysql://x/y"],
    }

    def test_bad_values_exit_2_naming_the_key(self):
        with tempfile.TemporaryDirectory() as tmp:
            for key, values in self.BAD.items():
                for v in values:
                    if key == "PORT" and v == "":
                        continue  # empty may reasonably mean "unset"
                    with self.subTest(key=key, value=v):
                        p = run_cli(["serve"], env={"DATA_DIR": tmp, "PORT": "0", key: v}, cwd=tmp,
                                    timeout=30)
                        self.assertEqual(p.returncode, CONFIG_EXIT, p.stderr)
                        self.assertIn(key, p.stderr)

    def test_secret_is_not_echoed(self):
        with tempfile.TemporaryDirectory() as tmp:
            url = "postgresql://u:hunter2secret@127.0.0.1:1/db?sslmode=bogus"
            p = run_cli(["serve"], env={"DATA_DIR": tmp, "PORT": "0", "DATABASE_URL": url,
                                        "MAX_MEMORY_MB": "lots"}, cwd=tmp, timeout=30)
            self.assertEqual(p.returncode, CONFIG_EXIT)
            self.assertNotIn("hunter2secret", p.stdout + p.stderr)


class TestDotenv(unittest.TestCase):
    def test_dotenv_is_read(self):
        s = Server(env={"API_TOKEN": None}, dotenv="# comment\nAPI_TOKEN=from-dotenv\n")
        with s:
            s.token = None
            self.assertEqual(s.upload("dotenv_a", "print(1)\n").status, 401)
            r = s.upload("dotenv_a", "print(1)\n", headers={"Authorization": "Bearer from-dotenv"})
            self.assertEqual(r.status, 200, r)

    def test_environment_wins_over_dotenv(self):
        # .env says a port that cannot be used; the environment's PORT=0 wins.
        s = Server(dotenv="PORT=notaport\nMAX_EXECUTION_TIME=5\n")
        with s:
            self.assertEqual(s.get("/health").status, 200)

    @staticmethod
    def serve_with_dotenv(text):
        """`wasmforge serve` in a folder whose .env is `text` (expected to stop)."""
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, ".env"), "w") as f:
                f.write(text)
            return run_cli(["serve"], env={"DATA_DIR": tmp, "PORT": "0"}, cwd=tmp, timeout=30)

    def test_bad_dotenv_value_exits_2(self):
        p = self.serve_with_dotenv("MAX_EXECUTION_TIME=forever\n")
        self.assertEqual(p.returncode, CONFIG_EXIT, p.stderr)
        self.assertIn("MAX_EXECUTION_TIME", p.stderr)

    def test_comment_after_a_quoted_value(self):
        # `KEY="v" # comment` is v: the quotes are not part of the token
        s = Server(env={"API_TOKEN": None},
                   dotenv='API_TOKEN="quoted-token"   # the team\'s token\n')
        with s:
            s.token = None
            r = s.upload("dotenv_q", "print(1)\n", headers={"Authorization": "Bearer quoted-token"})
            self.assertEqual(r.status, 200, r)

    def test_line_without_equals_exits_2_naming_it(self):
        p = self.serve_with_dotenv("# settings\nMAX_EXECUTION_TIME=5\nAPI_TOKEN hunter2-typo\n")
        self.assertEqual(p.returncode, CONFIG_EXIT, p.stderr)
        self.assertIn("line 3", p.stderr)
        self.assertIn(".env", p.stderr)
        self.assertNotIn("hunter2", p.stdout + p.stderr)


class TestConfigEffects(unittest.TestCase):
    def test_json_logs(self):
        with Server(env={"LOG_FORMAT": "json"}) as s:
            s.get("/health")
            s.get("/api/nothing")
            s.stop()
            lines = [l for l in s.log().splitlines() if l.strip()]
        self.assertTrue(lines)
        for line in lines:
            self.assertIsInstance(json.loads(line), dict, line)

    def test_json_logs_with_invalid_utf8(self):
        # the path arrives percent-decoded: %ff is a lone byte, not UTF-8
        with Server(env={"LOG_FORMAT": "json"}) as s:
            for path in ("/%ff", "/api/plugins/%ff%fe%c3/code", "/a%c3%28b"):
                s.get(path)
            s.stop()
            with open(s.log_path, "rb") as f:
                raw = f.read()
        lines = [l for l in raw.split(b"\n") if l.strip()]
        paths = []
        for line in lines:
            obj = json.loads(line.decode("utf-8"))  # strict: invalid UTF-8 raises
            self.assertIsInstance(obj, dict, line)
            if obj.get("msg") == "request":
                paths.append(obj.get("path"))
        self.assertIn("/\ufffd", paths)

    def test_port_in_use_fails_clearly(self):
        with Server() as a:
            b = Server(env={"PORT": str(a.port)})
            try:
                with self.assertRaises(AssertionError):
                    b.start(timeout=30)
                self.assertNotEqual(b.proc.returncode, 0)
                self.assertIn(str(a.port), b.log())
            finally:
                b.cleanup()
            self.assertEqual(a.get("/health").status, 200)

    def test_sqlite_database_url(self):
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "elsewhere.db")
            with Server(env={"DATABASE_URL": "sqlite://" + db}) as s:
                self.assertEqual(s.get("/health").json["database"], "sqlite")
                self.assertEqual(s.upload("where_am_i", "print(1)\n").status, 200)
            self.assertTrue(os.path.exists(db))

    def test_original_db_keys_select_postgresql(self):
        name, url = pg_create_database()
        try:
            u = urlsplit(url)
            env = {"DB_HOST": u.hostname, "DB_PORT": str(u.port), "DB_NAME": name,
                   "DB_USER": u.username or "postgres", "DB_PASSWORD": u.password or "unused"}
            with Server(env=env) as s:
                h = s.get("/health").json
                self.assertEqual((h["database"], h["database_ok"]), ("postgresql", True))
                self.assertEqual(s.upload("from_db_keys", "print(1)\n").status, 200)
                self.assertNotIn(env["DB_PASSWORD"], s.log())
        finally:
            pg_drop_database(name)


class TestSignals(unittest.TestCase):
    def test_sigterm_exits_0(self):
        s = Server()
        try:
            s.start()
            self.assertEqual(s.get("/health").status, 200)
            self.assertEqual(s.stop(signal.SIGTERM), 0)
        finally:
            s.cleanup()

    def test_sigint_exits_0(self):
        s = Server()
        try:
            s.start()
            self.assertEqual(s.stop(signal.SIGINT), 0)
        finally:
            s.cleanup()

    def test_data_survives_restart(self):
        s = Server()
        try:
            s.start()
            self.assertEqual(s.upload("survivor", "print(1)\n").status, 200)
            s.stop()
            s.start()
            r = s.get("/api/plugins/survivor/code")
            self.assertEqual(r.status, 200, r)
            s.stop()
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
