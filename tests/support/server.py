"""Starts the real wasmforge binary for end-to-end tests and speaks HTTP to it.

Server(env={...}).start() runs `$WF_BUILD/wasmforge serve` (WF_BUILD defaults
to build/) in a temporary working directory with its own DATA_DIR, PORT=0 and
a minimal environment, and waits for "listening on http://HOST:PORT" in its
log. stop() sends SIGTERM and checks the exit code and that no ASan/UBSan/
LSan report appeared in the log (only the sanitizer build, build-san/, can
write one). ServerCase is a unittest base
class that runs one server (and an Ollama double) per test class; with
store = "postgresql" it gets a fresh database in the cluster named by
WF_TEST_PG_URL.
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
from urllib.parse import urlencode, urlsplit, urlunsplit

from support.ollama_double import OllamaDouble, closed_port_url

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LISTEN_RE = re.compile(r"listening on http://([^\s/]+):(\d+)")
SAN_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
               "SUMMARY: UndefinedBehaviorSanitizer", "SUMMARY: AddressSanitizer")
# What the server may inherit from ours; everything else is set by the test.
PASS_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "ASAN_OPTIONS", "UBSAN_OPTIONS",
            "LSAN_OPTIONS", "WF_ENGINE_CACHE", "XDG_CACHE_HOME")


def build_dir():
    return os.environ.get("WF_BUILD") or os.path.join(ROOT, "build")


def binary():
    return os.path.join(build_dir(), "wasmforge")


def sanitizer_reports(text):
    """The lines of `text` that are sanitizer reports (empty when clean)."""
    return [l for l in text.splitlines() if any(m in l for m in SAN_MARKERS)]


def base_env(extra=None):
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    env.update(extra or {})
    return {k: v for k, v in env.items() if v is not None}


def run_cli(args, env=None, cwd=None, timeout=120, input=None):
    """Run the binary once (e.g. --help, check); returns CompletedProcess
    with text stdout/stderr. Fails the caller on sanitizer reports."""
    p = subprocess.run([binary(), *args], env=base_env(env), cwd=cwd or tempfile.gettempdir(),
                       capture_output=True, text=True, timeout=timeout,
                       input=input, stdin=None if input is not None else subprocess.DEVNULL,
                       errors="replace")
    reports = sanitizer_reports(p.stderr)
    if reports:
        raise AssertionError("sanitizer report from wasmforge %s:\n%s" % (" ".join(args), p.stderr))
    return p


_sandbox = None


def api_sandbox():
    """The sandbox the API suites use: WF_TEST_SANDBOX (wasm or native) when
    set, else wasm when this binary can run it, else the native fallback.
    Sandbox behaviour has suites of its own; these test the HTTP contract."""
    global _sandbox
    if os.environ.get("WF_TEST_SANDBOX"):
        return os.environ["WF_TEST_SANDBOX"]
    if _sandbox is None:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                p = run_cli(["check"], env={"SANDBOX": "wasm", "DATA_DIR": tmp,
                                            "OLLAMA_BASE_URL": closed_port_url()},
                            cwd=tmp, timeout=600)
                ok = "sandbox: ok (wasm)" in p.stdout
            except (OSError, subprocess.TimeoutExpired):
                ok = False
        _sandbox = "wasm" if ok else "native"
        if not ok:
            print("note: the WebAssembly sandbox is not available in this build; "
                  "API suites use SANDBOX=native", file=sys.stderr)
    return _sandbox


# ---- HTTP ------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # lower-case name -> value
        self.body = body                # bytes
        self._json = None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def json(self):
        """The body parsed as JSON (raises ValueError when it is not)."""
        if self._json is None:
            self._json = json.loads(self.body)
        return self._json

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


def encode_multipart(fields=None, files=None):
    """(body, content_type) for fields {name: str} and files
    {name: (filename, bytes|str, content_type)}."""
    boundary = "----wfboundary" + uuid.uuid4().hex
    out = []
    for name, value in (fields or {}).items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.append(value.encode() if isinstance(value, str) else value)
        out.append(b"\r\n")
    for name, (filename, content, ctype) in (files or {}).items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                   f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode())
        out.append(content.encode() if isinstance(content, str) else content)
        out.append(b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


class Client:
    """Plain HTTP/1.1 requests to one host:port, one connection each."""

    def __init__(self, host, port, token=None):
        self.host, self.port, self.token = host, port, token

    def request(self, method, path, body=None, headers=None, timeout=60):
        h = {}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def options(self, path, **kw):
        return self.request("OPTIONS", path, **kw)

    def post_json(self, path, obj, headers=None, **kw):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.request("POST", path, body=json.dumps(obj).encode(), headers=h, **kw)

    def post_form(self, path, fields, headers=None, **kw):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.request("POST", path, body=urlencode(fields).encode(), headers=h, **kw)

    def post_multipart(self, path, fields=None, files=None, headers=None, **kw):
        body, ctype = encode_multipart(fields, files)
        h = {"Content-Type": ctype}
        h.update(headers or {})
        return self.request("POST", path, body=body, headers=h, **kw)

    def upload(self, name, code, description="", input_type="text", input_hint="", **kw):
        """POST /api/plugins/upload as the original's client does."""
        fields = {"description": description, "input_type": input_type, "input_hint": input_hint}
        return self.post_multipart("/api/plugins/upload", fields,
                                   {"file": (name + ".py", code, "text/x-python")}, **kw)

    def gauge(self, name):
        """A gauge of /metrics, or -1 when it is not there."""
        for line in self.get("/metrics").body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return -1

    def run(self, name, input_data="", **kw):
        return self.post_form("/api/plugins/run", {"plugin_name": name, "input_data": input_data}, **kw)


# ---- the server process ------------------------------------------------------

class Server(Client):
    def __init__(self, env=None, args=("serve",), cwd=None, dotenv=None, token=None,
                 wrap=(), on_spawn=None):
        """env: settings on top of the defaults below (None removes a key).
        dotenv: text written to .env in the working directory.
        wrap: a command the server is started under (its arguments follow);
        on_spawn(proc): called right after that process is created."""
        self.tmp = tempfile.mkdtemp(prefix="wf-e2e-")
        self.cwd = cwd or self.tmp
        # ALLOWED_MODELS=*: most suites use the double's every model; the
        # original's default allowlist is tested with ALLOWED_MODELS=None.
        defaults = {"HOST": "127.0.0.1", "PORT": "0", "DATA_DIR": os.path.join(self.tmp, "data"),
                    "OLLAMA_BASE_URL": closed_port_url(), "LOG_LEVEL": "info",
                    "ALLOWED_MODELS": "*",
                    "SANDBOX": api_sandbox() if os.access(binary(), os.X_OK) else None}
        defaults.update(env or {})
        self.env = base_env(defaults)
        self.args = list(args)
        self.wrap = list(wrap)
        self.on_spawn = on_spawn
        self.proc = None
        self.log_path = os.path.join(self.tmp, "server.log")
        self.exit_code = None
        if dotenv is not None:
            with open(os.path.join(self.cwd, ".env"), "w") as f:
                f.write(dotenv)
        super().__init__("127.0.0.1", 0, token=token or self.env.get("API_TOKEN"))

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def log(self):
        """Everything the server wrote to stderr so far (all starts)."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10):
        """The first match of the regular expression `pattern` in the log,
        waiting for it: INFO lines reach the log a few milliseconds after
        the event (the server writes them in batches), so a line is not
        there yet when the answer that followed it arrives."""
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log()), timeout)

    def start(self, timeout=120):
        """Start the server and wait until it listens. stderr goes to a file
        (not a pipe), so a busy server never waits for us to read its log."""
        exe = binary()
        if not os.access(exe, os.X_OK):
            raise AssertionError(f"{exe} is not built (make)")
        self.port, self.exit_code = 0, None
        offset = len(self.log())
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen([*self.wrap, exe, *self.args], cwd=self.cwd,
                                         env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=logf)
        if self.on_spawn is not None:
            self.on_spawn(self.proc)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = LISTEN_RE.search(self.log()[offset:])
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        code = self.proc.poll()
        self.kill()
        raise AssertionError(f"wasmforge did not start (exit {code}); its log:\n{self.log()}")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, sig=signal.SIGTERM, timeout=60, expect_code=0):
        """Signal the server, wait for it, check its exit and log. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"wasmforge did not stop within {timeout}s of {sig!r}; log:\n"
                                 + self.log()[-4000:]) from None
        reports = sanitizer_reports(self.log())
        if reports:
            raise AssertionError("sanitizer reports in the server's log:\n" + self.log()[-8000:])
        if expect_code is not None and self.exit_code != expect_code:
            raise AssertionError(f"wasmforge exited {self.exit_code}, expected {expect_code}; "
                                 "log:\n" + self.log()[-4000:])
        return self.exit_code

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *rest):
        try:
            if exc_type is None:
                self.stop()
        finally:
            self.cleanup()


# ---- PostgreSQL ----------------------------------------------------------------

def pg_admin_url():
    return os.environ.get("WF_TEST_PG_URL")


def _with_db(url, dbname):
    u = urlsplit(url)
    return urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, u.fragment))


def psql(url, sql, timeout=30):
    """Run SQL through psql against `url`; returns its stdout. Raises on error."""
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url,
                        "-c", sql], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"psql failed: {p.stderr.strip()}")
    return p.stdout


def pg_create_database(prefix="wf_e2e"):
    """A fresh database in the test cluster: (name, url). Skips without a cluster."""
    admin = pg_admin_url()
    if not admin:
        raise unittest.SkipTest("no PostgreSQL test cluster (WF_TEST_PG_URL unset)")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    psql(admin, f'CREATE DATABASE "{name}"')
    return name, _with_db(admin, name)


def pg_drop_database(name):
    admin = pg_admin_url()
    if admin:
        psql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- a base class for API tests ---------------------------------------------------

class ServerCase(unittest.TestCase):
    """One server per test class. Subclasses set store ("sqlite" or
    "postgresql"), extra_env, and with_double (an Ollama double at
    cls.double, wired in as OLLAMA_BASE_URL)."""
    store = "sqlite"
    extra_env = {}
    with_double = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.double = cls.server = None
        cls.pg_name = None
        env = dict(cls.extra_env)
        try:
            if cls.store == "postgresql":
                cls.pg_name, env["DATABASE_URL"] = pg_create_database()
            if cls.with_double:
                cls.double = OllamaDouble()
                env.setdefault("OLLAMA_BASE_URL", cls.double.start())
            cls.server = cls.make_server(env)
            cls.server.start()
        except BaseException:
            cls._teardown_rest()
            raise

    @classmethod
    def make_server(cls, env):
        """The server of the class, not started yet (a hook for classes that
        set up its folder or .env)."""
        return Server(env=env)

    @classmethod
    def _teardown_rest(cls):
        if cls.server:
            cls.server.cleanup()
        if cls.double:
            cls.double.stop()
        if cls.pg_name:
            pg_drop_database(cls.pg_name)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls._teardown_rest()
        super().tearDownClass()

    def setUp(self):
        if self.double:
            self.double.reset()

    # handy assertions
    def assertDetail(self, r, status):
        """r has `status` and the error shape {"detail": "<text>"}; returns the text."""
        self.assertEqual(r.status, status, r)
        body = r.json
        self.assertIsInstance(body, dict, r)
        self.assertIsInstance(body.get("detail"), str, r)
        self.assertTrue(body["detail"], r)
        return body["detail"]


def wait_for(pred, timeout=20.0, interval=0.1):
    """Poll pred() until it is truthy; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > end:
            return v
        time.sleep(interval)
