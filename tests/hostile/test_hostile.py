"""Hostile plugins against the sandbox WF_TEST_SANDBOX (native or wasm; the
test runner runs this file for both), over HTTP and with `wasmforge run`.
Each case asserts what must happen (hostile_cases.py); after each suite the
server still answers and nothing is left behind: no sandbox processes, no
descriptors, the server's memory back near where it was."""
import os
import unittest

from support.ollama_double import OllamaDouble
from support.server import build_dir, wait_for

import hostile_cases  # noqa: F401  (puts tests/runs on the path)
from hostile_cases import SECRETS, HostileCases
from runs_support import LIMITS, CliRunsCase, HttpRunsCase, sandbox_pids


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _tcp_inodes():
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                inodes.update("socket:[%s]" % line.split()[9] for line in f)
        except OSError:
            pass
    return inodes


def channel_fds(pid):
    """The server's pipes, local sockets and pidfds: what a run's sandbox
    uses (the store's files and HTTP connections are left out: the store's
    pool grows with load, and clients' keep-alive sockets come and go)."""
    d = f"/proc/{pid}/fd"
    tcp = _tcp_inodes()
    out = []
    for f in os.listdir(d):
        try:
            target = os.readlink(os.path.join(d, f))
        except OSError:
            continue
        if target.startswith(("pipe:", "socket:", "anon_inode:")) and target not in tcp:
            out.append(target)
    return sorted(out)


def engine_pids():
    """Every process of this build's WebAssembly engine (zygotes and runs)."""
    mine = os.path.realpath(os.path.join(build_dir(), "wf-engine"))
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/exe") == mine:
                    pids.append(int(d))
            except OSError:
                pass
    return pids


class HostileHttp(HttpRunsCase, HostileCases):
    extra_env = dict(LIMITS, **SECRETS)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pid = cls.server.proc.pid
        # One warm-up run with an AI call, so the baseline includes the
        # sandbox's start and the Ollama client's connection pool.
        cls.server.upload("hostile_warm", "from platform_sdk import call_ai\n"
                                          "print(call_ai('mistral:latest', 'warm'))\n")
        cls.server.run("hostile_warm", "")
        cls.fds0 = channel_fds(pid)
        cls.rss0 = rss_kb(pid)

    def test_zz_server_after_the_suite(self):
        # Named to run last: everything above has been thrown at the server.
        pid = self.server.proc.pid
        h = self.server.get("/health")
        self.assertEqual(h.status, 200, h)
        res = self.run_plugin("print('still here')\n")
        self.assertTrue(res["success"], res)
        self.assertTrue(wait_for(lambda: not sandbox_pids(pid), 10), sandbox_pids(pid))
        self.assertTrue(wait_for(lambda: len(channel_fds(pid)) <= len(self.fds0), 10),
                        (self.fds0, channel_fds(pid)))
        # Memory back near the baseline: the server keeps nothing per run
        # beyond its caches (allocator slack allowed).
        self.assertLess(rss_kb(pid), self.rss0 + 48 * 1024, (self.rss0, rss_kb(pid)))


class HostileCli(CliRunsCase, HostileCases):
    @classmethod
    def setUpClass(cls):
        cls.double = OllamaDouble()
        cls.env = dict(LIMITS, OLLAMA_BASE_URL=cls.double.start(), API_TOKEN="hunter2-api-token",
                       **SECRETS)
        cls.engines0 = set(engine_pids())

    @classmethod
    def tearDownClass(cls):
        cls.double.stop()

    def setUp(self):
        self.double.reset()

    def test_zz_nothing_left_behind(self):
        # Every `wasmforge run` took its zygote with it.
        self.assertTrue(wait_for(lambda: not (set(engine_pids()) - self.engines0), 10),
                        set(engine_pids()) - self.engines0)


if __name__ == "__main__":
    unittest.main()
