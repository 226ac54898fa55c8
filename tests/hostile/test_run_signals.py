"""Attack class: one run signals, stops, traces or otherwise touches another
process (issue 11, point 1). Every route the kernel offers is tried against a
concurrent victim run, which must end successfully with its marker:
kill/tkill/tgkill/rt_sigqueueinfo, the process group (0, -pgid) and -1,
SIGIO owners (F_SETOWN, F_SETOWN_EX, F_SETSIG with O_ASYNC, ioctl FIOSETOWN /
SIOCSPGRP with FIOASYNC), leases, POSIX timers with SIGEV_THREAD_ID, pidfds,
ptrace and process_vm_readv. The attacker removes the import guard first, so
ctypes (where the sandbox has it) reaches the raw system calls. Runs against
both sandboxes (the runner runs tests/hostile once per sandbox)."""
import json
import os
import textwrap
import threading
import unittest

from concurrent_runs import ConcurrentRunsCase
from runs_support import sandbox_pids
from support.server import wait_for

VICTIM = textwrap.dedent('''
    import time
    from platform_sdk import send_output
    start = time.monotonic()
    while time.monotonic() - start < 8:
        time.sleep(0.05)
    send_output("victim-survived")
''')

ATTACKER = textwrap.dedent(r'''
    import json, os, struct, sys, time
    from platform_sdk import get_input, send_output
    sys.meta_path[:] = [m for m in sys.meta_path if type(m).__name__ != "_Guard"]
    SIGKILL, SIGSTOP = 9, 19
    host_pid = json.loads(get_input())["pid"]
    me = os.getpid()
    # Every pid the attacker might share a namespace with, and the groups.
    targets = sorted(set(range(1, 1500)) | {host_pid} - {me})
    groups = [0, -1]
    try:
        groups.append(-os.getpgrp())
    except Exception:
        pass
    accepted = {}   # route -> how many calls the kernel accepted

    def tally(route, ok):
        if ok:
            accepted[route] = accepted.get(route, 0) + 1

    def attempt(route, fn, *a):
        try:
            r = fn(*a)
            tally(route, r is None or r == 0 or (isinstance(r, int) and r > 0))
        except Exception:
            pass

    # kill, killpg, process groups, everyone (where the sandbox has os.kill)
    kill = getattr(os, "kill", None)
    if kill is not None:
        for pid in targets + groups:
            attempt("kill", kill, pid, SIGKILL)
            attempt("kill SIGSTOP", kill, pid, SIGSTOP)

    # SIGIO owners: a pipe / socket whose I/O signals another process
    try:
        import fcntl
    except ImportError:
        fcntl = None
    if fcntl is not None:
        F_SETSIG, F_SETOWN_EX, F_SETLEASE = 10, 15, 1024
        for pid in targets[:300] + [host_pid] + groups:
            try:
                r, w = os.pipe()
            except Exception:
                break
            attempt("F_SETOWN", fcntl.fcntl, r, fcntl.F_SETOWN, pid)
            attempt("F_SETOWN_EX", fcntl.fcntl, r, F_SETOWN_EX,
                    struct.pack("ii", 1 if pid > 0 else 2, abs(pid)))
            attempt("F_SETSIG", fcntl.fcntl, r, F_SETSIG, SIGKILL)
            try:
                attempt("O_ASYNC", fcntl.fcntl, r, fcntl.F_SETFL,
                        fcntl.fcntl(r, fcntl.F_GETFL) | os.O_ASYNC)
                attempt("FIOASYNC", fcntl.ioctl, r, 0x5452, struct.pack("i", 1))
                os.write(w, b"x")
            except OSError:
                pass
            os.close(r)
            os.close(w)
        try:
            import socket
            a, b = socket.socketpair()
            for pid in [host_pid] + targets[:100] + groups:
                attempt("FIOSETOWN", fcntl.ioctl, a.fileno(), 0x8901, struct.pack("i", pid))
                attempt("SIOCSPGRP", fcntl.ioctl, a.fileno(), 0x8902, struct.pack("i", pid))
                attempt("FIOASYNC", fcntl.ioctl, a.fileno(), 0x5452, struct.pack("i", 1))
                try:
                    b.send(b"x")
                except OSError:
                    pass
        except Exception:
            pass
        try:
            with open("/tmp/lease", "w") as f:
                f.write("x")
            fd = os.open("/tmp/lease", os.O_RDONLY)
            attempt("F_SETLEASE", fcntl.fcntl, fd, F_SETLEASE, fcntl.F_RDLCK)
        except Exception:
            pass

    # Raw system calls through ctypes, where it exists.
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        sc = libc.syscall
        sc.restype = ctypes.c_long
        NR = dict(tkill=200, tgkill=234, rt_sigqueueinfo=129, pidfd_open=434,
                  pidfd_send_signal=424, ptrace=101, process_vm_readv=310,
                  timer_create=222, timer_settime=223, kill=62)
        for pid in [host_pid] + targets:
            tally("tkill", sc(NR["tkill"], pid, 9) == 0)
            tally("tgkill", sc(NR["tgkill"], pid, pid, 9) == 0)
            info = ctypes.create_string_buffer(128)
            tally("rt_sigqueueinfo", sc(NR["rt_sigqueueinfo"], pid, 9, info) == 0)
            pfd = sc(NR["pidfd_open"], pid, 0)
            if pfd >= 0:
                tally("pidfd_open", True)
                tally("pidfd_send_signal", sc(NR["pidfd_send_signal"], pfd, SIGKILL, None, 0) == 0)
                os.close(pfd)
            tally("ptrace", sc(NR["ptrace"], 16, pid, None, None) == 0)  # PTRACE_ATTACH
            tally("ptrace", sc(NR["ptrace"], 0x4206, pid, None, None) == 0)  # PTRACE_SEIZE
            tally("process_vm_readv", sc(NR["process_vm_readv"], pid, None, 0, None, 0, 0) == 0)
            # A POSIX timer whose signal goes to the victim's thread id.
            ev = ctypes.create_string_buffer(64)
            struct.pack_into("qiii", ev, 0, 0, 9, 4, pid)  # SIGEV_THREAD_ID = 4
            tid = ctypes.c_int(0)
            if sc(NR["timer_create"], 0, ev, ctypes.byref(tid)) == 0:
                tally("timer_create", True)
                spec = struct.pack("qqqq", 0, 0, 0, 1000)
                sc(NR["timer_settime"], tid.value, 0, ctypes.create_string_buffer(spec), None)
    except Exception:
        pass
    time.sleep(0.3)
    send_output(json.dumps(accepted, sort_keys=True))
''')


class RunSignals(ConcurrentRunsCase):
    def test_no_route_reaches_a_concurrent_run(self):
        victim, attacker = self.pair(VICTIM, ATTACKER)
        self.assertTrue(victim["success"], (victim, attacker))
        self.assertEqual(victim["output"], "victim-survived", victim)
        # And the kernel accepted none of the calls (the filter refuses
        # them; the per-run uid is the second wall behind it).
        self.assertTrue(attacker["success"], attacker)
        self.assertEqual(json.loads(attacker["output"]), {}, attacker)


    def test_concurrent_runs_have_their_own_uid(self):
        # The kernel's own checks separate runs too: as root, each live run
        # has a uid (and gid) of its own from RUN_UID_BASE (1500000000) up.
        if os.geteuid() != 0:
            self.skipTest("runs change user only when the server is root")
        code = "import time\ntime.sleep(3)\nprint('done')\n"
        name = self.upload(code)
        spid = self.server.proc.pid
        threads = [threading.Thread(target=self.server.run, args=(name, ""),
                                    kwargs={"timeout": 60}) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            self.assertTrue(wait_for(lambda: len(sandbox_pids(spid)) >= 3, 30),
                            sandbox_pids(spid))
            ids = []
            for pid in sandbox_pids(spid):
                with open(f"/proc/{pid}/status") as f:
                    st = dict(line.split(":", 1) for line in f if ":" in line)
                ids.append((st["Uid"].split(), st["Gid"].split()))
        finally:
            for t in threads:
                t.join(60)
        uids = [int(u[0]) for u, _ in ids]
        self.assertEqual(len(set(uids)), len(uids), ids)
        for u, g in ids:
            self.assertEqual(len(set(u + g)), 1, (u, g))  # real, effective, saved, fs
            self.assertGreaterEqual(int(u[0]), 1500000000)
            self.assertLess(int(u[0]), 1500000000 + 16384)

if __name__ == "__main__":
    unittest.main()
