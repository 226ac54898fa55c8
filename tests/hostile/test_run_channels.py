"""Attack class: two concurrent runs exchange bytes (issue 11, point 7).

A receiver run opens every channel it can think of and watches it; a sender
run started while it waits pushes a marker through each: abstract Unix
sockets (an explicit name, and the kernel's automatic names: the receiver
holds many, the sender tries as many of the 2^20 as it can in 6 s), files
and named pipes anywhere writable (/tmp, /dev/shm, /var/tmp, /run), locks
on files both can open (flock, POSIX record locks on /dev/null), SysV shared
memory and message queues, POSIX message queues and signals. The receiver
must have received nothing. The import guard is removed first, so ctypes
reaches the raw calls where the sandbox has it. Both sandboxes."""
import json
import textwrap
import unittest

from concurrent_runs import ConcurrentRunsCase

COMMON = r'''
import json, os, struct, sys, time
from platform_sdk import send_output
try:
    import signal
except ImportError:
    signal = None
try:
    import socket
except ImportError:
    socket = None
sys.meta_path[:] = [m for m in sys.meta_path if type(m).__name__ != "_Guard"]
try:
    import fcntl
except ImportError:
    fcntl = None
try:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
except Exception:
    libc = None
NAME = b"\0wf-channel-test"
FILES = ["/tmp/wf-channel", "/dev/shm/wf-channel", "/var/tmp/wf-channel", "/run/wf-channel",
         "/wf-channel"]
KEY = 0x57464348
LOCKED = os.__file__ if hasattr(os, "__file__") else "/usr/lib/python3.11/os.py"

def unbound_dgram():
    """A datagram socket with no peer, that the kernel names itself on
    its first send (SO_PASSCRED): the route the review found."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    b.close()
    try:
        a.send(b"")        # the dead peer is forgotten
    except OSError:
        pass
    a.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    return a
'''

RECEIVER = COMMON + r'''
got = []
socks = []
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(NAME)
    socks.append(s)
except Exception:
    pass
# Automatic names are chosen at random among 2^20: many of them, so that
# the sender's scan meets one in the seconds it has.
for i in range(48):
    try:
        a = unbound_dgram()
        try:
            a.sendto(b"", b"\0wf-nobody-listens")   # autobind
        except OSError:
            pass
        a.setblocking(False)
        socks.append(a)
    except Exception:
        break
hits = []
def on_usr1(*_):
    hits.append(1)
try:
    signal.signal(signal.SIGUSR1, on_usr1)
except Exception:
    pass
lockfd = devnull = None
try:
    lockfd = os.open(LOCKED, os.O_RDONLY)
except Exception:
    pass
try:
    devnull = os.open("/dev/null", os.O_RDWR)
except Exception:
    pass
end = time.monotonic() + 11
while time.monotonic() < end:
    for s in socks:
        try:
            s.setblocking(False)
            if s.recv(100):
                got.append("socket")
        except Exception:
            pass
    for f in FILES[1:]:
        for g in (f, f + ".fifo"):
            try:
                if os.path.exists(g):
                    got.append("file " + g)
            except Exception:
                pass
    if fcntl is not None and lockfd is not None:
        try:
            fcntl.flock(lockfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(lockfd, fcntl.LOCK_UN)
        except BlockingIOError:
            got.append("flock")
        except Exception:
            pass
    if fcntl is not None and devnull is not None:
        try:
            r = fcntl.fcntl(devnull, fcntl.F_GETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
            if struct.unpack("hhqqi", r)[0] != fcntl.F_UNLCK:
                got.append("posix lock")
        except Exception:
            pass
    if libc is not None:
        if libc.syscall(29, KEY, 0, 0) >= 0:            # shmget, existing
            got.append("sysv shm")
        if libc.syscall(68, KEY, 0) >= 0:               # msgget, existing
            got.append("sysv msg")
        if libc.syscall(240, b"/wf-channel", os.O_RDONLY, 0, None) >= 0:   # mq_open
            got.append("posix mq")
    if hits:
        got.append("signal")
    time.sleep(0.05)
send_output(json.dumps(sorted(set(got))))
'''

SENDER = COMMON + r'''
tried = []
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"x", NAME)
except Exception:
    pass
try:
    a = unbound_dgram()
    try:
        a.sendto(b"x", NAME)
    except OSError:
        pass
    # Every automatic name: "\0" and five hex digits.
    stop = time.monotonic() + 6
    for n in range(1 << 20):
        if n % 4096 == 0 and time.monotonic() > stop:
            break
        try:
            a.sendto(b"x", b"\0%05x" % n)
        except OSError as e:
            if e.errno in (1, 13) and n == 0:
                break      # refused outright: no use trying the rest
except Exception:
    pass
for f in FILES:
    try:
        with open(f, "w") as fh:
            fh.write("x")
    except Exception:
        pass
    try:
        os.mkfifo(f + ".fifo")     # a named pipe where the other could open it
    except Exception:
        pass
held = []
if fcntl is not None:
    try:
        fd = os.open(LOCKED, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        held.append(fd)
    except OSError:
        pass
    try:
        fd = os.open("/dev/null", os.O_RDWR)
        fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
        held.append(fd)
    except OSError:
        pass
if libc is not None:
    libc.syscall(29, KEY, 4096, 0o1666)                  # shmget IPC_CREAT
    q = libc.syscall(68, KEY, 0o1666)                    # msgget IPC_CREAT
    if q >= 0:
        libc.syscall(69, q, struct.pack("q", 1) + b"x", 1, 0)
    libc.syscall(240, b"/wf-channel", os.O_CREAT | os.O_RDWR, 0o666, None)
for pid in range(1, 1500):
    if pid != os.getpid():
        try:
            os.kill(pid, 10)   # SIGUSR1
        except Exception:
            pass
time.sleep(2)
send_output("sent")
'''


class RunChannels(ConcurrentRunsCase):
    def test_two_runs_cannot_exchange_a_byte(self):
        receiver, sender = self.pair(RECEIVER, SENDER, second_input="")
        self.assertTrue(sender["success"], sender)
        self.assertTrue(receiver["success"], (receiver, sender))
        self.assertEqual(json.loads(receiver["output"]), [], receiver)


if __name__ == "__main__":
    unittest.main()
