"""Shared pieces of the runs suites: the plugins they run, a way to run one
(over HTTP or with `wasmforge run`), and process/descriptor accounting.

WF_TEST_SANDBOX=native|wasm picks the sandbox the suites run against
(native by default), so that the same tests cover both engines."""
import json
import os
import subprocess
import tempfile
import unittest
import uuid

from support.server import ServerCase, run_cli

SANDBOX = os.environ.get("WF_TEST_SANDBOX", "native")
ALLOWED = "mistral:latest,llama3.2:latest,ghost:1b"

# The suite's limits: small so that hitting them is quick.
LIMITS = {
    "SANDBOX": SANDBOX,
    "ALLOWED_MODELS": ALLOWED,
    "MAX_EXECUTION_TIME": "4",
    "MAX_MEMORY_MB": "128",
    "MAX_OUTPUT_BYTES": "65536",
    "MAX_AI_CALLS_PER_EXECUTION": "3",
    "MAX_PROMPT_LENGTH": "100",
    "MAX_CONCURRENT_RUNS": "32",
}


def _native_zygote_pid(pid):
    """Whether pid is a process of the native sandbox's zygote (the zygote
    or one of its runs: they share the zygote's command line)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return len(argv) > 11 and argv[0].startswith(b"/usr/bin/python3") and argv[11] == b"native" \
        and b"_wf_zygote" in argv[8]


def sandbox_pids(parent=None):
    """The sandboxed runners that the server `parent` started: native ones
    (python with the runner, or its loader, as -c; or children of the native
    zygote) and WebAssembly ones (children of the engine's zygote). Pass the
    server's pid: other servers on the machine run tests too, and their
    sandboxes are not ours."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if _native_zygote_pid(d):
            try:
                zygote = _ppid(d)
                if _native_zygote_pid(zygote) and (parent is None or _ppid(zygote) == parent):
                    pids.append(int(d))  # a run forked by the native zygote
            except OSError:
                pass
        elif len(argv) > 9 and argv[0].startswith(b"/usr/bin/python3") and argv[1:4] == [b"-I", b"-S", b"-B"] \
                and (b"runner.py" in argv[8] or b"_wf_read" in argv[8]):
            try:
                if parent is None or _ppid(d) == parent:
                    pids.append(int(d))
            except OSError:
                pass
        elif _parent_is_engine(d, parent):
            pids.append(int(d))  # a WebAssembly run: a child of the engine's zygote
    return pids


def native_zygotes(parent):
    """The native sandbox's zygotes the server `parent` started (not their
    runs)."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit() and _native_zygote_pid(d) and _comm(d)[1] == parent:
            pids.append(int(d))
    return pids


def _comm(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None, None
    comm = stat[stat.index(b"(") + 1:stat.rindex(b")")]
    return comm, int(stat[stat.rindex(b")") + 2:].split()[1])


def _ppid(pid):
    ppid = _comm(pid)[1]
    if ppid is None:
        raise OSError("process gone")
    return ppid


def _parent_is_engine(pid, parent=None):
    comm, ppid = _comm(pid)
    if comm != b"wf-engine" or ppid is None:
        return False
    pcomm, zygote_parent = _comm(ppid)
    return pcomm == b"wf-engine" and (parent is None or zygote_parent == parent)


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def run_fds(pid):
    """The server's descriptors of the kinds runs use: pipes and pidfds.
    (The store's files and HTTP sockets vary on their own.)"""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("pipe:") or "pidfd" in target:
            n += 1
    return n


def require_plugin_api(response):
    """The answer to a first upload: a server without the plugin API is broken, and every run
    test through it fails (a missing part of the build is never a skip)."""
    if response.status != 200:
        raise AssertionError(f"the plugin API did not store a probe plugin: {response.status} "
                             f"{response.text[:200]}")


class HttpRunsCase(ServerCase):
    """Runs plugins through the real server: upload, then run."""
    extra_env = dict(LIMITS)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            require_plugin_api(cls.server.upload("wf_probe", "print(1)\n"))
        except AssertionError:
            cls.tearDownClass()
            raise

    def run_plugin(self, code, input_data="", name=None, timeout=60):
        name = name or "p_" + uuid.uuid4().hex[:10]
        r = self.server.upload(name, code)
        self.assertEqual(r.status, 200, r)
        r = self.server.run(name, input_data, timeout=timeout)
        self.assertEqual(r.status, 200, r)
        return r.json


class CliRunsCase(unittest.TestCase):
    """Runs plugins with `wasmforge run`: the same supervisor, no HTTP."""
    env = dict(LIMITS)
    double = None

    def run_plugin(self, code, input_data="", name="plugin", timeout=60, env=None):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, name + ".py")
            with open(path, "w") as f:
                f.write(code)
            e = dict(self.env)
            e.update(env or {})
            e.setdefault("DATA_DIR", os.path.join(d, "data"))
            p = run_cli(["run", path, "--input", input_data], env=e, cwd=d, timeout=timeout)
        # A binary without `run` is broken, not a reason to skip every case run through it.
        self.assertNotIn("unknown command", p.stderr, "`wasmforge run` is missing from this binary")
        self.assertIn(p.returncode, (0, 1), p.stderr)
        res = json.loads(p.stdout)
        self.assertEqual(p.returncode, 0 if res["success"] else 1)
        return res
