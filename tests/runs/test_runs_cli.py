"""`wasmforge run`: the run behaviours through the command line (same
supervisor and sandbox as the server, no HTTP), and the command's own
contract (exit codes, usage)."""
import os
import tempfile
import unittest

from support.ollama_double import OllamaDouble, closed_port_url
from support.server import run_cli

from behaviour import RunBehaviour
from runs_support import LIMITS, CliRunsCase


class CliRuns(CliRunsCase, RunBehaviour):
    @classmethod
    def setUpClass(cls):
        cls.double = OllamaDouble()
        cls.env = dict(LIMITS, OLLAMA_BASE_URL=cls.double.start())

    @classmethod
    def tearDownClass(cls):
        cls.double.stop()

    def setUp(self):
        self.double.reset()


class CliCommand(CliRunsCase):
    env = dict(LIMITS, OLLAMA_BASE_URL=closed_port_url())

    def test_ollama_down(self):
        res = self.run_plugin('from platform_sdk import call_ai\nprint(call_ai("mistral:latest", "x"))\n'
                              'try:\n    call_ai("mistral:latest", "x", raise_on_error=True)\n'
                              'except ConnectionError as e:\n    print("raised", type(e).__name__)\n')
        self.assertTrue(res["success"], res)
        self.assertTrue(res["output"].startswith("[ERROR] "), res)
        self.assertIn("raised AIUnavailableError", res["output"])
        self.assertNotIn("127.0.0.1", res["output"])

    def test_exit_codes_and_usage(self):
        ok = self.run_plugin("print('hi')\n")
        self.assertTrue(ok["success"])
        self.assertEqual(ok["plugin"], "plugin")
        bad = self.run_plugin("raise SystemExit(3)\n")
        self.assertFalse(bad["success"])
        self.assertIn("status 3", bad["error"])
        p = run_cli(["run"], env=self.env)
        self.assertNotIn("unknown command", p.stderr, "`wasmforge run` is missing from this binary")
        self.assertEqual(p.returncode, 2)
        p = run_cli(["run", "/nonexistent/x.py"], env=self.env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot open", p.stderr)

    def test_long_run_outlives_idle_workers(self):
        # A sandbox must not die with the worker thread that started it.
        res = self.run_plugin("import time\ntime.sleep(7)\nprint('awake')\n",
                              env={"MAX_EXECUTION_TIME": "20"})
        self.assertTrue(res["success"], res)
        self.assertEqual(res["output"], "awake")

    def test_input_file(self):
        with tempfile.TemporaryDirectory() as d:
            plugin = os.path.join(d, "echo.py")
            with open(plugin, "w") as f:
                f.write("from platform_sdk import get_input\nprint(get_input(), end='')\n")
            data = os.path.join(d, "in.txt")
            with open(data, "w") as f:
                f.write("line1\nline2\n")
            p = run_cli(["run", plugin, "--input-file", data], env=self.env)
            self.assertNotIn("unknown command", p.stderr, "`wasmforge run` is missing from this binary")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn('"output": "line1\\nline2"', p.stdout)


if __name__ == "__main__":
    unittest.main()
