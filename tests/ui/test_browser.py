"""The Builder UI in a real browser: Debian's Chromium, headless, driven by
tests/ui/browser.mjs against the real server and the Ollama double.

Three servers, all with a small MAX_PLUGIN_BYTES (for the "too large" flow):
the main one, one with API_TOKEN for the token prompt, and one with a short
MAX_EXECUTION_TIME for the timeout flow. The script prints one JSON line per flow; each flow
is a test case here, so a failure names the flow. Screenshots of every page
land in $WF_BUILD/ui-screenshots/ for review.
"""
import json
import os
import shutil
import subprocess
import unittest

from support.ollama_double import OllamaDouble
from support.server import ROOT, Server, build_dir

CHROMIUM = os.environ.get("WF_CHROMIUM", "/usr/bin/chromium")
UI_DIR = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(UI_DIR, "browser.mjs")
TOKEN = "ui-test-token-5b1f"
MAX_PLUGIN_BYTES = 65536

# Every flow browser.mjs runs, in its order.
CASES = [
    "pages_load",
    "deploy_text_plugin",
    "syntax_error_shown_at_line",
    "bad_name_shown_at_field",
    "any_name_round_trip",
    "too_large_shown_at_code",
    "deploy_json_and_file_plugins_by_upload",
    "code_view",
    "edit_and_redeploy",
    "run_text_keeps_page_responsive",
    "run_json_validates",
    "run_file_sends_data_url",
    "long_output_scrolls",
    "output_shows_stdout_as_written",
    "run_timeout",
    "history",
    "delete_asks_first",
    "loading_and_error_states",
    "ollama_down",
    "keyboard",
    "contrast",
    "phone_width",
    "api_token_prompt",
    "validation_list_readable",
    "docs_try_it_out",
    "redoc_lists_endpoints",
    "no_page_errors",
    "no_foreign_requests",
]


def ensure_chromium():
    """Debian's Chromium, installed through the project's dependency script when missing."""
    if not os.access(CHROMIUM, os.X_OK):
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "deps.sh")], check=False,
                       stdin=subprocess.DEVNULL)
    if not os.access(CHROMIUM, os.X_OK):
        raise AssertionError(f"{CHROMIUM} is missing and scripts/deps.sh could not install it")


def missing(why):
    """Under CI (CI=true) a missing browser, Node.js or playwright-core is a failure: a fresh
    machine that `make deps` and `make test` set up must have them. Elsewhere the suite skips."""
    if os.environ.get("CI") == "true":
        raise AssertionError(why)
    raise unittest.SkipTest(why)


def node_major():
    node = shutil.which("node")
    if not node:
        return 0
    out = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    try:
        return int(out.strip().lstrip("v").split(".")[0])
    except ValueError:
        return 0


class BrowserFlows(unittest.TestCase):
    results = {}
    log = ""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        web = os.path.join(build_dir(), "web", "index.html")
        if not os.path.exists(web):
            raise AssertionError(f"{web} is missing: `make` builds the web UI (mk/web.mk)")
        major = node_major()
        if major < 18:   # Debian 12's own Node.js is 18
            missing(f"browser tests need Node.js 18 or later (found {major or 'none'}): make deps")
        if not os.path.isdir(os.path.join(UI_DIR, "node_modules", "playwright-core")):
            missing("tests/ui/node_modules has no playwright-core: `make ui-test-deps` (part of make test)")
        try:
            ensure_chromium()
        except AssertionError as e:
            missing(str(e))

        cls.out = os.path.join(build_dir(), "ui-screenshots")
        shutil.rmtree(cls.out, ignore_errors=True)
        cls.double = OllamaDouble()
        cls.servers = []
        try:
            url = cls.double.start()
            common = {"OLLAMA_BASE_URL": url, "MAX_PLUGIN_BYTES": str(MAX_PLUGIN_BYTES)}
            # Runs on the main server have time to spare even on a slow,
            # sanitized build; the timeout flow has a server of its own.
            main = cls._start(dict(common, MAX_EXECUTION_TIME="60"))
            guarded = cls._start(dict(common, API_TOKEN=TOKEN))
            quick = cls._start(dict(common, MAX_EXECUTION_TIME="3"))
            config = {
                "base": main.url,
                "tokenBase": guarded.url,
                "timeoutBase": quick.url,
                "token": TOKEN,
                "doubleUrl": url,
                "out": cls.out,
                "chromium": CHROMIUM,
                "maxPluginBytes": MAX_PLUGIN_BYTES,
            }
            env = dict(os.environ, WF_UI_CONFIG=json.dumps(config))
            p = subprocess.run(["node", SCRIPT], env=env, capture_output=True, text=True,
                               timeout=900, stdin=subprocess.DEVNULL)
            cls.log = p.stdout + p.stderr
            for line in p.stdout.splitlines():
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                cls.results[r.get("case")] = r
        except BaseException:
            cls._stop()
            raise

    @classmethod
    def _start(cls, env):
        server = Server(env=env)
        cls.servers.append(server)
        return server.start()

    @classmethod
    def _stop(cls):
        for s in cls.servers:
            try:
                s.stop()
            finally:
                s.cleanup()
        cls.double.stop()

    @classmethod
    def tearDownClass(cls):
        cls._stop()
        print(f"\nUI screenshots: {cls.out}", flush=True)
        super().tearDownClass()

    def test_harness(self):
        """The script itself ran and reported every flow."""
        self.assertNotIn("harness", self.results, self.results.get("harness"))
        missing = [c for c in CASES if c not in self.results]
        self.assertEqual(missing, [], "flows that did not report:\n" + self.log[-4000:])
        self.assertTrue(os.listdir(self.out), "no screenshots were written")


def _make_case(name):
    def test(self):
        r = self.results.get(name)
        if r is None:
            self.fail(f"{name} did not report; output:\n{self.log[-4000:]}")
        if r["status"] == "skip":   # the harness gives every flow what it needs: a skip is breakage
            self.fail(f"{name} could not run: {r.get('detail', '')}")
        if r["status"] != "pass":
            self.fail(f"{name}: {r.get('detail', '')} (screenshot FAILED-{name}.png in {self.out})")
    test.__name__ = f"test_{name}"
    test.__doc__ = f"browser flow: {name}"
    return test


for _case in CASES:
    setattr(BrowserFlows, f"test_{_case}", _make_case(_case))
