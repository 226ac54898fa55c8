"""The native sandbox under a server that is not root (issue 11, point 14).

A child that still shares the server's memory (vfork, before its exec) used
to clear "dumpable", which belongs to the memory: the server itself became
non-dumpable at its first spawn, its /proc/self files then belonged to root,
and as an ordinary user every later spawn failed writing the new user
namespace's maps ("setgroups: Permission denied"): runs answered 503.

The server runs here as `nobody` (setpriv), from a copy of what it needs in
a folder that user can read, and runs many native plugins in a row."""
import os
import shutil
import tempfile
import unittest

from support.server import Server, build_dir

NOBODY = 65534
RUNS = 25


class NativeUnprivileged(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root, to start the server as another user")
        if shutil.which("setpriv") is None:
            self.skipTest("needs util-linux's setpriv")
        # The build, as that user can read it (the tree it came from may not be).
        self.dir = tempfile.mkdtemp(prefix="wf-unpriv-", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.chmod(self.dir, 0o755)
        for f in ("wasmforge", "wf-native-zygote.so"):
            shutil.copy2(os.path.join(build_dir(), f), os.path.join(self.dir, f))
        self.work = os.path.join(self.dir, "work")
        os.mkdir(self.work)
        os.chown(self.work, NOBODY, NOBODY)

    def test_many_native_runs_as_an_ordinary_user(self):
        exe = os.path.join(self.dir, "wasmforge")
        # setpriv execs sh as nobody, which execs the copy (the helper
        # appends its own binary's path: shifted away).
        wrap = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                "--inh-caps=-all", "sh", "-c", 'shift; exec "$0" "$@"', exe]
        srv = Server(env={"SANDBOX": "native", "DATA_DIR": os.path.join(self.work, "data")},
                     cwd=self.work, wrap=wrap)
        self.addCleanup(srv.cleanup)
        srv.start()
        with open(f"/proc/{srv.proc.pid}/status") as f:
            uid = [line.split()[1] for line in f if line.startswith("Uid:")][0]
        self.assertEqual(int(uid), NOBODY)

        health = srv.get("/health")
        self.assertEqual(health.status, 200, health)
        self.assertTrue(health.json["sandbox_ok"], health.json)
        self.assertIn("zygote", health.json["sandbox_detail"])  # the usual mode
        self.assertEqual(srv.upload("hello", "from platform_sdk import get_input, send_output\n"
                                             "send_output(get_input()[::-1])\n").status, 200)
        for i in range(RUNS):
            r = srv.run("hello", f"run {i}")
            self.assertEqual(r.status, 200, (i, r, srv.log()[-2000:]))
            self.assertTrue(r.json["success"], (i, r.json))
            self.assertEqual(r.json["output"], f"run {i}"[::-1])
        # Still confined after all of them: no processes, no sockets.
        self.assertEqual(srv.upload("probe", "import subprocess\n"
                                             "subprocess.run(['/bin/true'])\n").status, 200)
        r = srv.run("probe")
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json["success"], r.json)
        self.assertIn("PermissionError", r.json["error"])
        self.assertNotIn("setgroups", srv.log())
        srv.stop()


if __name__ == "__main__":
    unittest.main()
