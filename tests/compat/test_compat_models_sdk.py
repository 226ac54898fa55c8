"""Issue 12 points 5 to 8: the original's model table, its default
allowlist, its "[ERROR]" strings exactly, and its .env as it is (SDK_PATH
and WASM_PYTHON_* naming files that are not there, or the original's own
SDK), over SQLite and PostgreSQL, with the sandbox of the pass."""
import os
import uuid
from urllib.parse import urlsplit

from support.server import Server, ServerCase, wait_for

ORIGINAL_MODELS = [
    {"name": "mistral:latest", "type": "code",
     "description": "Code review, bug detection, generation", "available": True},
    {"name": "llama3.2:latest", "type": "text",
     "description": "Summarization, translation, analysis, Q&A", "available": True},
    {"name": "gemma2:2b", "type": "text",
     "description": "Lightweight text generation and analysis", "available": True},
    {"name": "qwen2.5:1.5b", "type": "text",
     "description": "Multilingual text processing", "available": True},
]
ORIGINAL_FIELDS = ("name", "type", "description", "available")

# The original's env.example (its README's ".env" section), as it is.
ENV_EXAMPLE = """\
DB_HOST=DB_SERVER_HOST        # use IPv4, hostname resolves to IPv6 and times out
DB_PORT=5432
DB_NAME=wasmforge
DB_USER=wasmforge
DB_PASSWORD=...
DB_SSL_CERT=./certs/ca-certificate.crt

OLLAMA_BASE_URL=http://localhost:11434
ALLOWED_MODELS=mistral:latest,llama3.2:latest,gemma2:2b,qwen2.5:1.5b

SDK_PATH=./sdk/platform_sdk.py
MAX_EXECUTION_TIME=120
MAX_PROMPT_LENGTH=4000
MAX_AI_CALLS_PER_EXECUTION=10

USE_WASMEDGE=true
WASM_PYTHON_PATH=/opt/wasmedge-python/bin/python-3.11.1-wasmedge.wasm
WASM_PYTHON_DIR=/opt/wasmedge-python
"""

# An SDK as the original's was: its own protocol over stdin/stdout, and
# no WASMFORGE_BRIDGE line.
ORIGINAL_SDK = '''import json
import sys


def get_input():
    return sys.stdin.readline().strip()


def call_ai(model, prompt):
    print("__BRIDGE__" + json.dumps({"type": "call_ai", "model": model, "prompt": prompt}),
          flush=True)
    line = sys.stdin.readline()
    return json.loads(line)["result"] if line else "[ERROR] No response from bridge"


def send_output(text):
    print(text, flush=True)


def list_models():
    return []
'''

PLUGIN = '''from platform_sdk import call_ai, get_input, send_output, list_models
send_output(call_ai("mistral:latest", "Summarize: " + get_input()))
send_output(call_ai("llava:7b", "x"))
send_output(",".join(list_models()))
'''


def run(server, code, input_data=""):
    name = "p_" + uuid.uuid4().hex[:10]
    r = server.upload(name, code)
    assert r.status == 200, r
    r = server.run(name, input_data)
    assert r.status == 200, r
    return r.json


class DefaultAllowlist:
    """ALLOWED_MODELS unset: the original's default."""
    extra_env = {"ALLOWED_MODELS": None, "MAX_PROMPT_LENGTH": "20",
                 "MAX_AI_CALLS_PER_EXECUTION": "2"}

    def test_models_list_is_the_original_table(self):
        self.assertTrue(wait_for(
            lambda: self.server.get("/api/models/list").json[0]["available"]))
        r = self.server.get("/api/models/list")
        self.assertEqual(r.status, 200, r)
        self.assertEqual([{k: m[k] for k in ORIGINAL_FIELDS} for m in r.json], ORIGINAL_MODELS)
        for m in r.json:  # our fields stay
            self.assertIs(m["allowed"], True)
            self.assertIn("family", m)
            self.assertIn("size_bytes", m)

    def test_default_allowlist_is_the_originals(self):
        res = run(self.server, PLUGIN, "hi")
        self.assertTrue(res["success"], res)
        self.assertEqual(res["output"].splitlines(), [
            "echo: Summarize: hi", "[ERROR] Model 'llava:7b' not allowed",
            "mistral:latest,llama3.2:latest,gemma2:2b,qwen2.5:1.5b"])

    def test_error_strings_exactly(self):
        res = run(self.server, '''from platform_sdk import call_ai
for args in (("", "x"), ("mistral:latest", ""), ("gpt-4", "x"),
             ("mistral:latest", "y" * 21), ("mistral:latest", "p" * 10),
             ("mistral:latest", "p" * 5, ), ("mistral:latest", "p")):
    print(call_ai(*args))
print(call_ai("mistral:latest", "p", system="s" * 20))
''')
        self.assertTrue(res["success"], res)
        self.assertEqual(res["output"].splitlines(), [
            "[ERROR] Missing model or prompt", "[ERROR] Missing model or prompt",
            "[ERROR] Model 'gpt-4' not allowed", "[ERROR] Prompt too long",
            "echo: " + "p" * 10, "echo: " + "p" * 5, "[ERROR] AI call limit reached",
            "[ERROR] AI call limit reached"])
        self.assertIn("21 characters in the prompt; MAX_PROMPT_LENGTH is 20", res["logs"])


class TestDefaultAllowlistSqlite(DefaultAllowlist, ServerCase):
    store = "sqlite"


class TestDefaultAllowlistPostgres(DefaultAllowlist, ServerCase):
    store = "postgresql"


class TestEveryModelWithStar(ServerCase):
    extra_env = {"ALLOWED_MODELS": "*"}

    def test_star_allows_every_model_ollama_lists(self):
        res = run(self.server, PLUGIN, "hi")
        self.assertEqual(res["output"].splitlines()[:2], ["echo: Summarize: hi", "echo: x"])
        r = self.server.get("/api/models/list")
        llava = [m for m in r.json if m["name"] == "llava:7b"]
        self.assertEqual([{k: m[k] for k in ORIGINAL_FIELDS} for m in llava],
                         [{"name": "llava:7b", "type": "text", "description": "llava:7b model",
                           "available": True}])


class OriginalDotenv:
    """The original's env.example as .env in the server's folder, only the
    database credentials edited (and its TLS line: the test cluster has no
    TLS); Ollama's address comes from the environment, which wins."""
    with_sdk_file = False
    extra_env = {"ALLOWED_MODELS": None}

    @classmethod
    def make_server(cls, env):
        text = ENV_EXAMPLE
        url = env.pop("DATABASE_URL", None)
        if url:
            u = urlsplit(url)
            creds = {"DB_HOST": u.hostname, "DB_PORT": str(u.port or 5432),
                     "DB_NAME": u.path.lstrip("/"), "DB_USER": u.username or "",
                     "DB_PASSWORD": u.password or ""}
            lines = []
            for line in text.splitlines():
                key = line.split("=", 1)[0]
                if key != "DB_SSL_CERT":
                    lines.append(f"{key}={creds[key]}" if key in creds else line)
            text = "\n".join(lines) + "\n"
        else:
            # no database lines: the SQLite default
            text = "\n".join(l for l in text.splitlines() if not l.startswith("DB_")) + "\n"
        server = Server(env=env, dotenv=text)
        if cls.with_sdk_file:
            os.makedirs(os.path.join(server.cwd, "sdk"))
            with open(os.path.join(server.cwd, "sdk", "platform_sdk.py"), "w") as f:
                f.write(ORIGINAL_SDK)
        return server

    def test_starts_and_plugins_behave_as_with_the_built_in_sdk(self):
        self.assertEqual(self.server.get("/health").json["database"], self.store)
        res = run(self.server, PLUGIN, "hello")
        self.assertTrue(res["success"], res)
        self.assertEqual(res["output"].splitlines(), [
            "echo: Summarize: hello", "[ERROR] Model 'llava:7b' not allowed",
            "mistral:latest,llama3.2:latest,gemma2:2b,qwen2.5:1.5b"])
        self.assertEqual(res["ai_calls"], 1)

    def test_warnings_say_why(self):
        log = self.server.log()
        why = ("lacks the line \"WASMFORGE_BRIDGE = 1\"" if self.with_sdk_file
               else "cannot be read")
        self.assertIn("SDK_PATH: './sdk/platform_sdk.py' ", log)
        self.assertIn(why, log)
        self.assertIn("the built-in SDK is used", log)
        self.assertIn("WASM_PYTHON_PATH: '/opt/wasmedge-python/bin/python-3.11.1-wasmedge.wasm' "
                      "is not a file: ignored, the built-in Python engine is used", log)
        self.assertIn("WASM_PYTHON_DIR: '/opt/wasmedge-python' is not a folder", log)


class TestOriginalDotenvSqlite(OriginalDotenv, ServerCase):
    store = "sqlite"


class TestOriginalDotenvSqliteWithOriginalSdk(OriginalDotenv, ServerCase):
    store = "sqlite"
    with_sdk_file = True


class TestOriginalDotenvPostgres(OriginalDotenv, ServerCase):
    store = "postgresql"


class TestOriginalDotenvPostgresWithOriginalSdk(OriginalDotenv, ServerCase):
    store = "postgresql"
    with_sdk_file = True
