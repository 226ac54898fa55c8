"""The native sandbox on a kernel that refuses namespaces (docs/runs.md, "WEAK"):
the server says so in its log and in /health, and still applies seccomp, the
change of user, rlimits and the import guard.

The server is started in a user namespace of its own whose namespace limits
(/proc/sys/user/max_*_namespaces) are 0, so every namespace it asks for is
refused, as on a kernel or container that forbids them. That namespace maps
root and nobody to themselves, so the server is root there and its runs
become nobody, as on a host where it runs as root."""
import os
import shutil
import tempfile
import time
import unittest

from support.server import Server

NAMESPACES = ("user", "mnt", "pid", "net", "ipc", "uts", "cgroup")
# Forbids every namespace, then becomes the server.
FORBID = ('for n in %s; do echo 0 > /proc/sys/user/max_${n}_namespaces || exit 97; done; '
          'exec "$@"' % " ".join(NAMESPACES))
# Waits for the go-ahead (the parent writes the namespace's user and group
# maps meanwhile), then execs again: only an exec as the mapped root gives
# the capabilities in the namespace back.
NO_NAMESPACES = 'read _ < "$WF_GO"; exec sh -c \'%s\' sh "$@"' % FORBID

PROBE = """
import os, socket, subprocess
from platform_sdk import send_output
out = {"uid": os.getuid()}
try:
    subprocess.run(["/bin/true"])
    out["subprocess"] = "ran"
except OSError as e:
    out["subprocess"] = "refused"
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    out["socket"] = "made"
except OSError:
    out["socket"] = "refused"
try:
    with open("/etc/wf-weak-probe", "w") as f:
        f.write("x")
    out["write_etc"] = "written"
except OSError:
    out["write_etc"] = "refused"
try:
    import ctypes
    out["ctypes"] = "imported"
except ImportError:
    out["ctypes"] = "refused"
send_output(out)
"""


def own_user_namespace():
    return os.readlink("/proc/self/ns/user")


class NativeWithoutNamespaces(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root, to map nobody into the server's user namespace")
        if shutil.which("unshare") is None:
            self.skipTest("needs util-linux's unshare")
        self.dir = tempfile.mkdtemp(prefix="wf-weak-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.go = os.path.join(self.dir, "go")
        os.mkfifo(self.go)

    def release(self, proc):
        """Maps root and nobody in the server's new user namespace, then lets
        it go on. unshare(1) execs the shell in the same process."""
        mine = own_user_namespace()
        end = time.monotonic() + 30
        while os.readlink(f"/proc/{proc.pid}/ns/user") == mine:
            if proc.poll() is not None or time.monotonic() > end:
                raise AssertionError("the wrapper never entered its user namespace")
            time.sleep(0.005)
        for kind in ("uid", "gid"):
            with open(f"/proc/{proc.pid}/{kind}_map", "w") as f:
                f.write("0 0 1\n65534 65534 1\n")
        with open(self.go, "w") as f:
            f.write("go\n")

    def test_weak_mode_is_said_and_the_rest_still_holds(self):
        wrap = ["unshare", "--user", "sh", "-c", NO_NAMESPACES, "sh"]
        srv = Server(env={"SANDBOX": "native", "WF_GO": self.go}, wrap=wrap,
                     on_spawn=self.release)
        self.addCleanup(srv.cleanup)
        srv.start()

        health = srv.get("/health")
        self.assertEqual(health.status, 200, health)
        self.assertEqual(health.json["sandbox"], "native")
        self.assertTrue(health.json["sandbox_ok"], health.json)
        self.assertIn("WEAK", health.json["sandbox_detail"])
        self.assertIn("no namespaces available", health.json["sandbox_detail"])
        self.assertIn("native sandbox: native, WEAK", srv.log())

        self.assertEqual(srv.upload("probe", PROBE).status, 200)
        r = srv.run("probe")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["success"], r.json)
        self.assertEqual(r.json["result"], {
            "uid": 65534,
            "subprocess": "refused",
            "socket": "refused",
            "write_etc": "refused",
            "ctypes": "refused",
        })
        self.assertFalse(os.path.exists("/etc/wf-weak-probe"))
        srv.stop()


if __name__ == "__main__":
    unittest.main()
