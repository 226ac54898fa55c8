"""The WebAssembly engine's zygote (build/wf-engine, src/engine/): its control
protocol spoken directly, the confinement of a run's child as the kernel
reports it, the zygote dying under the server, and WASM_PYTHON_PATH /
WASM_PYTHON_DIR with their failure modes."""
import array
import json
import os
import shutil
import socket
import struct
import subprocess
import tarfile
import tempfile
import threading
import time
import unittest

from support.server import Server, build_dir, run_cli, wait_for
from support.require import require

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAGIC = 0x57465A31


def engine_path():
    return os.path.join(build_dir(), "wf-engine")


def frame(obj):
    d = json.dumps(obj).encode()
    return struct.pack("<I", len(d)) + d


def read_file(path):
    with open(path) as f:
        return f.read()


class Engine:
    """A zygote started by hand, as the server starts it."""

    def __init__(self):
        self.ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fd = theirs.fileno()
        self.proc = subprocess.Popen(
            [engine_path(), "--image", os.path.join(build_dir(), "engine", "stdlib.tar"),
             read_file(os.path.join(ROOT, "sdk", "runner.py"))],
            pass_fds=[3, fd], preexec_fn=lambda: os.dup2(fd, 3) and None,
            stderr=subprocess.PIPE)
        theirs.close()
        ok, pid, msg = self.reply(60)
        if not ok:
            raise AssertionError("the engine did not start: " + msg)

    def reply(self, timeout=30):
        self.ctl.settimeout(timeout)
        data, anc, _, _ = self.ctl.recvmsg(256, socket.CMSG_SPACE(4))
        _, ok, pid = struct.unpack("<Iii", data[:12])
        self.pidfd = None
        for level, kind, fds in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                self.pidfd = array.array("i", fds[:4])[0]
        return ok, pid, data[12:].split(b"\0")[0].decode()

    def spawn(self, memory_mb=64, cpu_s=10, tmp_mb=4, run_uid=0):
        """Starts one run; returns (pid, bridge, stdout, stderr, status) ends."""
        br, brc = socket.socketpair()
        o_r, o_w = os.pipe()
        e_r, e_w = os.pipe()
        s_r, s_w = os.pipe()
        self.ctl.sendmsg([struct.pack("<IIIII", MAGIC, memory_mb, cpu_s, tmp_mb, run_uid)],
                         [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                           array.array("i", [brc.fileno(), o_w, e_w, s_w]))])
        brc.close()
        for fd in (o_w, e_w, s_w):
            os.close(fd)
        ok, pid, msg = self.reply()
        if not ok:
            raise AssertionError("spawn failed: " + msg)
        os.close(self.pidfd)
        return pid, br, o_r, e_r, s_r

    def close(self):
        self.ctl.close()
        self.proc.wait(30)
        self.proc.stderr.close()


def collect(br, o_r, e_r, s_r):
    frames, buf = [], b""
    while True:
        d = br.recv(65536)
        if not d:
            break
        buf += d
    while len(buf) >= 4:
        n = struct.unpack("<I", buf[:4])[0]
        frames.append(json.loads(buf[4:4 + n]))
        buf = buf[4 + n:]
    out = os.read(o_r, 1 << 20)
    st = os.read(s_r, 16)
    for fd in (o_r, e_r, s_r):
        os.close(fd)
    br.close()
    return frames, out, struct.unpack("<Iiii", st)[1:] if len(st) == 16 else None


def have_engine():
    return os.access(engine_path(), os.X_OK) and \
        os.path.exists(os.path.join(build_dir(), "engine", "stdlib.tar"))


@require(have_engine(), "the WebAssembly engine is not built")
class ZygoteProtocol(unittest.TestCase):
    def setUp(self):
        self.engine = Engine()

    def tearDown(self):
        self.engine.close()

    def run_code(self, code):
        pid, br, o_r, e_r, s_r = self.engine.spawn()
        br.sendall(frame({"op": "run", "code": code, "input": "", "guard": [],
                          "sdk": read_file(os.path.join(ROOT, "sdk", "platform_sdk.py")),
                          "max_frame": 1 << 20}))
        return collect(br, o_r, e_r, s_r)

    def test_a_run_and_its_status(self):
        frames, out, status = self.run_code("print('hello')\n")
        self.assertEqual(out, b"hello\n")
        self.assertEqual(frames[-1]["op"], "done")
        self.assertEqual(frames[-1]["status"], "ok")
        self.assertEqual(status, (1, 0, 0))

    def test_child_is_confined(self):
        self.check_confined(0, "65534")  # no run uid named: nobody

    def test_child_takes_the_run_uid_it_is_given(self):
        # The server names one uid per live run (RUN_UID_BASE + a slot).
        self.check_confined(1500000123, "1500000123")

    def check_confined(self, run_uid, want_uid):
        pid, br, o_r, e_r, s_r = self.engine.spawn(run_uid=run_uid)
        try:
            # The zygote answers at the fork and the child sets itself up
            # while its request is on the way: the filter, then closing its
            # report descriptor (103), are the set-up's last two steps.
            deadline = time.monotonic() + 10
            while True:
                status = read_file(f"/proc/{pid}/status")
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                fds = [int(f) for f in os.listdir(f"/proc/{pid}/fd")]
                done = fields["Seccomp"].strip() != "0" and 103 not in fds
                if done or time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            self.assertEqual(fields["Seccomp"].strip(), "2")  # a filter is installed
            self.assertEqual(fields["NoNewPrivs"].strip(), "1")
            if os.geteuid() == 0:
                self.assertEqual(fields["Uid"].split()[:4], [want_uid] * 4)
                self.assertEqual(fields["Gid"].split()[:4], [want_uid] * 4)
                self.assertEqual(fields["Groups"].split(), [])
            # Only the run's own descriptors (and /dev/null on 0-2) are open.
            fds = sorted(int(f) for f in os.listdir(f"/proc/{pid}/fd"))
            self.assertEqual(fds, [0, 1, 2, 100, 101, 102])
            for fd in (0, 1, 2):
                self.assertEqual(os.readlink(f"/proc/{pid}/fd/{fd}"), "/dev/null")
            limits = read_file(f"/proc/{pid}/limits")
            self.assertRegex(limits, r"Max processes\s+0\s+0")
            self.assertRegex(limits, r"Max core file size\s+0\s+0")
            self.assertRegex(limits, r"Max cpu time\s+10\s+11")
        finally:
            os.kill(pid, 9)
            collect(br, o_r, e_r, s_r)

    def test_killed_run_reports_the_signal(self):
        pid, br, o_r, e_r, s_r = self.engine.spawn()
        os.kill(pid, 9)
        _, _, status = collect(br, o_r, e_r, s_r)
        self.assertEqual(status, (0, 0, 9))

    def test_runs_do_not_share_random_state(self):
        outs = [self.run_code("import random\nprint(random.getrandbits(64))\n")[1] for _ in range(3)]
        self.assertEqual(len(set(outs)), 3, outs)

    def test_malformed_requests_are_refused(self):
        self.engine.ctl.send(b"short")
        ok, _, msg = self.engine.reply()
        self.assertFalse(ok)
        self.assertIn("malformed", msg)
        self.engine.ctl.send(struct.pack("<IIIII", MAGIC, 64, 10, 4, 0))  # no descriptors
        ok, _, msg = self.engine.reply()
        self.assertFalse(ok)
        # Still serving.
        self.assertEqual(self.run_code("print(1)\n")[1], b"1\n")

    def test_closing_the_control_socket_ends_zygote_and_runs(self):
        pid, br, o_r, e_r, s_r = self.engine.spawn()
        zpid = self.engine.proc.pid
        self.engine.ctl.close()
        self.assertEqual(self.engine.proc.wait(10), 0)
        self.assertTrue(wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10))
        self.assertFalse(os.path.exists(f"/proc/{zpid}/status") and
                         "zombie" not in read_file(f"/proc/{zpid}/status"))
        collect(br, o_r, e_r, s_r)
        self.engine.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # for tearDown


def children_of(pid, comm=None):
    """The pids whose parent is pid (and whose command is comm, if given)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = read_file(f"/proc/{d}/stat")
            except OSError:
                continue
            name = st[st.index("(") + 1:st.rindex(")")]
            if (comm is None or name == comm) and int(st[st.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(d))
    return out


def zygotes_of(server_pid):
    return children_of(server_pid, "wf-engine")


@require(have_engine(), "the WebAssembly engine is not built")
class ZygoteUnderTheServer(unittest.TestCase):
    @unittest.skipUnless(os.geteuid() == 0, "namespaces for the zygote are made as root")
    def test_zygote_has_no_network(self):
        with Server(env={"SANDBOX": "wasm"}) as s:
            self.assertEqual(s.upload("z", "print('ok')\n").status, 200)
            self.assertTrue(s.run("z").json["success"])
            zyg = zygotes_of(s.proc.pid)
            self.assertEqual(len(zyg), 1, zyg)
            for kind in ("net", "ipc", "uts"):
                self.assertNotEqual(os.readlink(f"/proc/{zyg[0]}/ns/{kind}"),
                                    os.readlink(f"/proc/{s.proc.pid}/ns/{kind}"), kind)
            # Its network namespace has a loopback and nothing else.
            with open(f"/proc/{zyg[0]}/net/dev") as f:
                ifaces = [line.split(":")[0].strip() for line in f.readlines()[2:]]
            self.assertEqual(ifaces, ["lo"])
            self.assertIn("namespaces of its own", s.get("/health").json["sandbox_detail"])

    def test_zygote_is_restarted_when_it_dies(self):
        with Server(env={"SANDBOX": "wasm", "MAX_EXECUTION_TIME": "20",
                         "WF_ZYGOTE_SECRET": "s3cret"}) as s:
            self.assertEqual(s.get("/health").status, 200)
            self.assertEqual(s.upload("z", "print('ok')\n").status, 200)
            self.assertEqual(s.upload("slow", "import time\ntime.sleep(15)\n").status, 200)
            self.assertTrue(s.run("z").json["success"])
            box = {}
            t = threading.Thread(target=lambda: box.setdefault("r", s.run("slow", timeout=60)))
            t.start()
            # the slow run is in the zygote's hands (not a fixed pause: a loaded machine is slower)
            self.assertTrue(wait_for(lambda: s.gauge("wasmforge_runs_running") >= 1, timeout=30))
            zyg = zygotes_of(s.proc.pid)
            self.assertEqual(len(zyg), 1, zyg)
            # The running gauge rises when the request is sent; kill the
            # zygote once it has forked the run, or the request is simply
            # resent to the next zygote and the run succeeds.
            self.assertTrue(wait_for(lambda: children_of(zyg[0]), timeout=30))
            os.kill(zyg[0], 9)
            t.join(30)
            # The run in flight died with its zygote, and says so.
            res = box["r"].json
            self.assertFalse(res["success"], res)
            self.assertIn(res["error_type"], ("plugin_error", "runtime_error"), res)
            # The next run gets a new zygote.
            r = s.run("z")
            self.assertTrue(r.json["success"], r.json)
            self.assertEqual(r.json["output"], "ok")
            new = zygotes_of(s.proc.pid)
            self.assertEqual(len(new), 1)
            self.assertNotEqual(new, zyg)
            self.assertIn("zygote", s.log())
            # Nothing of the server's environment is in the zygote (whose
            # memory every run shares).
            with open(f"/proc/{new[0]}/environ", "rb") as f:
                self.assertNotIn(b"WF_ZYGOTE_SECRET", f.read())
            s.stop()
            self.assertEqual(zygotes_of(s.proc.pid), [])


@require(have_engine(), "the WebAssembly engine is not built")
class OtherPython(unittest.TestCase):
    """WASM_PYTHON_PATH / WASM_PYTHON_DIR (for example the original's
    python-3.11.1-wasmedge.wasm and its folder)."""

    def check(self, **env):
        with tempfile.TemporaryDirectory() as d:
            e = {"SANDBOX": "wasm", "DATA_DIR": os.path.join(d, "data"),
                 "OLLAMA_BASE_URL": "http://127.0.0.1:9"}
            e.update(env)
            return run_cli(["check"], env=e, cwd=d, timeout=600)

    def test_not_a_wasm_file(self):
        with tempfile.NamedTemporaryFile(suffix=".wasm") as f:
            f.write(b"#!/bin/sh\necho pwned\n")
            f.flush()
            p = self.check(WASM_PYTHON_PATH=f.name)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("is not a WebAssembly module", p.stdout + p.stderr)

    def test_missing_imports(self):
        with tempfile.TemporaryDirectory() as d:
            wat = os.path.join(d, "m.wat")
            with open(wat, "w") as f:
                f.write('(module (import "env" "system" (func)) (memory (export "memory") 1)'
                        ' (func (export "_start")))')
            path = os.path.join(d, "m.wasm")
            subprocess.run(["wat2wasm", wat, "-o", path], check=True)
            p = self.check(WASM_PYTHON_PATH=path)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("does not provide: env.system", p.stdout + p.stderr)

    def test_missing_file_and_folder(self):
        for key, path in (("WASM_PYTHON_PATH", "/nonexistent/python.wasm"),
                          ("WASM_PYTHON_DIR", "/nonexistent/lib")):
            p = self.check(**{key: path})
            self.assertNotEqual(p.returncode, 0)
            self.assertRegex(p.stdout + p.stderr, key + r": .*" + path)

    def test_another_python_and_its_folder(self):
        # A copy of our own build, and its library unpacked into a folder:
        # the same path a different WASI Python takes (translate, compile,
        # link, cache), with a module whose translation is already cached.
        stamp = os.path.join(build_dir(), "engine", "python-wasm.path")
        self.assertTrue(os.path.exists(stamp), "python.wasm is not built (make python-wasm)")
        src = os.path.join(read_file(stamp).strip(), "python.wasm")
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(src, os.path.join(d, "python-other.wasm"))
            lib = os.path.join(d, "lib")
            with tarfile.open(os.path.join(build_dir(), "engine", "stdlib.tar")) as t:
                t.extractall(lib)
            with open(os.path.join(d, "p.py"), "w") as f:
                f.write("import sys, os\nprint(sys.version_info[:2], sorted(os.listdir('/')))\n")
            p = run_cli(["run", os.path.join(d, "p.py")],
                        env={"SANDBOX": "wasm", "DATA_DIR": os.path.join(d, "data"),
                             "WASM_PYTHON_PATH": os.path.join(d, "python-other.wasm"),
                             "WASM_PYTHON_DIR": lib}, cwd=d, timeout=900)
        self.assertEqual(p.returncode, 0, p.stderr)
        res = json.loads(p.stdout)
        self.assertEqual(res["output"], "(3, 11) ['tmp', 'usr']")


if __name__ == "__main__":
    unittest.main()
