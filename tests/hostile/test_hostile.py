"""Hostile plugins against the sandbox WF_TEST_SANDBOX (native or wasm; the
test runner runs this file for both), over HTTP and with `wasmforge run`.
Each case asserts what must happen (hostile_cases.py); after each suite the
server still answers and nothing is left behind: no sandbox processes, no
descriptors, the server's memory back near where it was."""
import os
import unittest

from support.ollama_double import OllamaDouble
from support.server import wait_for

import hostile_cases  # noqa: F401  (puts tests/runs on the path)
from hostile_cases import SECRETS, HostileCases
from runs_support import LIMITS, CliRunsCase, HttpRunsCase, sandbox_pids


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def channel_fds(pid):
    """The server's pipes, sockets and pidfds: what a run's sandbox uses (the
    store's files are left out: its connection pool grows with load)."""
    d = f"/proc/{pid}/fd"
    n = 0
    for f in os.listdir(d):
        try:
            target = os.readlink(os.path.join(d, f))
        except OSError:
            continue
        n += target.startswith(("pipe:", "socket:", "anon_inode:"))
    return n


def engine_pids():
    """Every WebAssembly engine process (zygotes and their runs)."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as f:
                    if f.read().strip() == "wf-engine":
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
        # One warm-up run, so the baseline includes the sandbox's start.
        cls.server.upload("hostile_warm", "print(1)\n")
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
        self.assertTrue(wait_for(lambda: not sandbox_pids(), 10), sandbox_pids())
        # HTTP keep-alive sockets may linger briefly.
        self.assertTrue(wait_for(lambda: channel_fds(pid) <= self.fds0 + 2, 10),
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
        self.assertTrue(wait_for(lambda: not sandbox_pids(), 10), sandbox_pids())
        # Every `wasmforge run` took its zygote with it.
        self.assertTrue(wait_for(lambda: not (set(engine_pids()) - self.engines0), 10),
                        set(engine_pids()) - self.engines0)


if __name__ == "__main__":
    unittest.main()
