"""Attack class: the native import guard removed (issue 11, point 6). The
guard (sdk/runner.py's _Guard on sys.meta_path) is a courtesy; the boundary
is the seccomp allow-list. A plugin that removes the guard and then reaches
for raw system calls, executable memory or anonymous files must get
nowhere: ctypes may import, but what it reaches is refused. Runs against
both sandboxes (the WebAssembly one has neither ctypes nor mmap)."""
import json
import textwrap
import unittest

import hostile_cases  # noqa: F401  (puts tests/runs on the path)
from runs_support import HttpRunsCase

ESCAPE = textwrap.dedent(r'''
    import json, os, sys
    from platform_sdk import send_output
    sys.meta_path[:] = [m for m in sys.meta_path if type(m).__name__ != "_Guard"]
    got = {}   # what worked: must stay empty

    try:
        import mmap
    except ImportError:
        mmap = None
    if mmap is not None:
        for name, prot in (("rwx anonymous", 7), ("rx anonymous", 5)):
            try:
                mmap.mmap(-1, 4096, prot=prot)
                got[name] = "mapped"
            except (OSError, ValueError):
                pass
    try:
        fd = os.memfd_create("x")
        got["memfd_create"] = fd
    except (AttributeError, OSError):
        pass

    try:
        import ctypes
    except ImportError:
        ctypes = None
    if ctypes is not None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        # Writable memory made executable afterwards.
        p = libc.mmap(None, 4096, 3, 0x22, -1, 0)  # RW, MAP_PRIVATE|MAP_ANONYMOUS
        if p not in (None, ctypes.c_void_p(-1).value):
            if libc.mprotect(ctypes.c_void_p(p), 4096, 5) == 0:
                got["mprotect to exec"] = "done"
        # A file mapped writable and executable at once (private copy).
        fd = os.open(os.__file__, os.O_RDONLY)
        q = libc.mmap(None, 4096, 7, 0x02, fd, 0)  # RWX, MAP_PRIVATE
        if q not in (None, ctypes.c_void_p(-1).value):
            got["rwx file mapping"] = "mapped"
        os.close(fd)
        libc.syscall.restype = ctypes.c_long
        for name, nr, args in (("memfd_create raw", 319, (b"x", 0)),
                               ("fork raw", 57, ()),
                               ("socket raw", 41, (2, 1, 0)),
                               ("kill raw", 62, (1, 0)),
                               ("ptrace raw", 101, (0, 0, 0, 0)),
                               ("unshare raw", 272, (0x10000000,)),
                               ("bpf raw", 321, (0, 0, 0)),
                               ("io_uring_setup raw", 425, (1, None)),
                               ("pkey_mprotect raw", 329, (0, 0, 7, 0)),
                               ("keyctl raw", 250, (0,))):
            r = libc.syscall(nr, *args)
            if r >= 0:
                got[name] = r
                if nr == 57 and r == 0:
                    os._exit(0)
    send_output(json.dumps(got, sort_keys=True))
''')


class GuardEscape(HttpRunsCase):
    def test_without_the_guard_nothing_more_is_reachable(self):
        res = self.run_plugin(ESCAPE)
        self.assertTrue(res["success"], res)
        self.assertEqual(json.loads(res["output"]), {}, res)


if __name__ == "__main__":
    unittest.main()
