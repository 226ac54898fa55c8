"""Issue 12 point 1: `output` as the original shaped it. The original
stripped every line of the plugin's stdout (Python's str.strip()), dropped
blank lines and joined the rest by "\\n"; the stdout as written is ours, in
`stdout`, capped with a marker like `output` was. The run history keeps both,
and `wasmforge run` prints the same result JSON as the HTTP answer.
Over SQLite and PostgreSQL, with the sandbox of the pass (native, wasm)."""
import json
import os
import tempfile
import unittest
import uuid

from support.server import ServerCase, run_cli

ECHO = "from platform_sdk import get_input, send_output\nsend_output(get_input())\n"
LINES = "print('  indented'); print(''); print('trailing   '); print('\\tTab')\n"
# The fields of the original's run answer, and ours.
ORIGINAL_FIELDS = {"success", "output", "error", "error_type"}
OUR_FIELDS = {"result", "stdout", "logs", "run_id", "plugin", "version", "ai_calls",
              "duration_ms", "started_at"}
CAP = 4096


class CompatOutput:
    extra_env = {"MAX_OUTPUT_BYTES": str(CAP)}

    def run_code(self, code, input_data=""):
        name = "out_" + uuid.uuid4().hex[:8]
        r = self.server.upload(name, code)
        self.assertEqual(r.status, 200, r)
        r = self.server.post_json("/api/plugins/run", {"plugin_name": name, "input_data": input_data})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(r.json), ORIGINAL_FIELDS | OUR_FIELDS, r.json)
        return r.json

    def assertOriginal(self, res, output):
        """The original's answer for a plugin that succeeded, exactly."""
        self.assertEqual({k: res[k] for k in ORIGINAL_FIELDS},
                         {"success": True, "output": output, "error": None, "error_type": None},
                         res)

    def test_send_output_of_the_input(self):
        res = self.run_code(ECHO, "hello world")
        self.assertOriginal(res, "hello world")
        self.assertEqual(res["stdout"], "hello world\n")

    def test_lines_stripped_and_blank_lines_dropped(self):
        res = self.run_code(LINES)
        self.assertOriginal(res, "indented\ntrailing\nTab")
        self.assertEqual(res["stdout"], "  indented\n\ntrailing   \n\tTab\n")

    def test_python_whitespace_and_universal_newlines(self):
        # str.strip() removes \v \f \x1c-\x1f and Unicode spaces (U+00A0,
        # U+3000, ...) but not U+200B; \r\n and \r end lines as \n does.
        code = ("import sys\n"
                "sys.stdout.write('\\x0b\\x0c a \\x1c\\n\\u3000b\\u00a0\\r\\n  \\r c\\rd\\n"
                "\\u200be\\n\\n\\t\\n')\n")
        res = self.run_code(code)
        self.assertOriginal(res, "a\nb\nc\nd\n\u200be")
        self.assertEqual(res["stdout"],
                         "\x0b\x0c a \x1c\n\u3000b\u00a0\r\n  \r c\rd\n\u200be\n\n\t\n")

    def test_nothing_printed(self):
        res = self.run_code("x = 1\n")
        self.assertOriginal(res, "")
        self.assertEqual(res["stdout"], "")
        res = self.run_code("print()\nprint('   ')\n")
        self.assertOriginal(res, "")
        self.assertEqual(res["stdout"], "\n   \n")

    def test_a_failed_run_keeps_what_it_printed(self):
        res = self.run_code("print('  before  ')\nraise ValueError('boom')\n")
        self.assertEqual((res["success"], res["output"], res["error_type"]),
                         (False, "before", "plugin_error"), res)
        self.assertEqual(res["stdout"], "  before  \n")
        self.assertIn("ValueError: boom", res["error"])

    def test_capped_stdout_and_its_output(self):
        res = self.run_code("for i in range(1000):\n    print('  line', i)\n")
        self.assertTrue(res["success"], res)
        marker = "[output truncated: %d bytes written, limit %d]" % (
            sum(len("  line %d\n" % i) for i in range(1000)), CAP)
        self.assertTrue(res["stdout"].startswith("  line 0\n  line 1\n"), res["stdout"][:40])
        self.assertTrue(res["stdout"].endswith("\n" + marker + "\n"), res["stdout"][-80:])
        self.assertLessEqual(len(res["stdout"].encode()), CAP + len(marker) + 2)
        lines = res["output"].split("\n")
        self.assertEqual(lines[:2], ["line 0", "line 1"])
        self.assertEqual(lines[-1], marker)

    def test_history_has_both(self):
        res = self.run_code(LINES)
        one = self.server.get("/api/runs/" + res["run_id"])
        self.assertEqual(one.status, 200, one)
        self.assertEqual((one.json["output"], one.json["stdout"]),
                         ("indented\ntrailing\nTab", "  indented\n\ntrailing   \n\tTab\n"))
        # the list gives summaries (docs/http.md); the record has the texts
        listed = self.server.get("/api/runs?plugin=" + res["plugin"]).json
        self.assertEqual(listed[0]["run_id"], res["run_id"])
        self.assertEqual(set(one.json), ORIGINAL_FIELDS | OUR_FIELDS | {"input_data"})

    def test_invalid_utf8_on_stdout(self):
        res = self.run_code("import sys\nsys.stdout.buffer.write(b'  a\\xff\\n\\n')\n")
        self.assertOriginal(res, "a\ufffd")
        self.assertEqual(res["stdout"], "  a\ufffd\n\n")

    def test_cli_prints_the_http_answer(self):
        res = self.run_code(LINES, "in")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, res["plugin"] + ".py")
            with open(path, "w") as f:
                f.write(LINES)
            p = run_cli(["run", path, "--input", "in"],
                        env={"SANDBOX": self.server.env["SANDBOX"], "DATA_DIR": d,
                             "MAX_OUTPUT_BYTES": str(CAP)}, cwd=d)
        self.assertEqual(p.returncode, 0, p.stderr)
        cli = json.loads(p.stdout)
        self.assertEqual(set(cli), set(res))
        varying = {"run_id", "duration_ms", "started_at", "version"}
        self.assertEqual({k: v for k, v in cli.items() if k not in varying},
                         {k: v for k, v in res.items() if k not in varying})
        uuid.UUID(cli["run_id"])


class TestCompatOutputSqlite(CompatOutput, ServerCase):
    store = "sqlite"


class TestCompatOutputPostgres(CompatOutput, ServerCase):
    store = "postgresql"


if __name__ == "__main__":
    unittest.main()
