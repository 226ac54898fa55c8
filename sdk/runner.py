# runner.py - runs one plugin inside a sandbox (native or WebAssembly):
# reads the run request from the bridge, installs the SDK, runs plugin.py.
#
# Started as `python -I -S -B -c <this file> FD`: FD is the bridge, a
# descriptor of its own (never stdout). Frames are a 4-byte little-endian
# length and a UTF-8 JSON object. The first frame is the host's request:
#   {"op":"run","code":..,"input":..,"sdk":..,"guard":[..],"max_frame":N}
#   ("sdk" is left out exactly when this process is a zygote's run and the
#   zygote executed the built-in SDK already: src/sandbox/sandbox.h)
#   {"op":"check","code":..}
# A run's input is also the plugin's stdin (_give_stdin).
# A run ends with {"op":"done","status":"ok"|"plugin_error"|"memory_limit",
# "error":..,"result":..}; a check answers {"op":"checked",...}. Only plain
# os.read/os.write on the descriptor: no threads, sockets or subprocesses,
# so the same file works on the WASI host.
import sys


def _make_codec():
    """JSON through CPython's C accelerator directly: importing the json
    package pulls in re, enum and more, which would double the cost of
    starting a run."""
    import _json

    class _Ctx:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        memo = {}

        def parse_constant(name):
            raise ValueError("JSON constant " + name)

    scan = _json.make_scanner(_Ctx)

    def default(o):
        raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)

    encoder = _json.make_encoder({}, default, _json.encode_basestring, None, ":", ",",
                                 False, False, False)

    def loads(text):
        try:
            value, end = scan(text, 0)
        except StopIteration:
            raise ValueError("invalid JSON") from None
        finally:
            _Ctx.memo.clear()
        if end != len(text):
            raise ValueError("extra data after JSON")
        return value

    def dumps(value):
        return "".join(encoder(value, 0))

    return loads, dumps


_loads, _dumps = _make_codec()


class _Bridge:
    def __init__(self, fd, max_frame):
        self.fd = fd
        self.max_frame = max_frame

    def _read_exact(self, n):
        import os
        chunks = []
        while n > 0:
            b = os.read(self.fd, min(n, 1 << 20))
            if not b:
                raise EOFError("bridge closed")
            chunks.append(b)
            n -= len(b)
        return b"".join(chunks)

    def recv(self):
        n = int.from_bytes(self._read_exact(4), "little")
        return _loads(self._read_exact(n).decode("utf-8"))

    def send(self, obj):
        import os
        data = _dumps(obj).encode("utf-8")
        if len(data) > self.max_frame:
            raise ValueError("message too large for the bridge")
        buf = memoryview(len(data).to_bytes(4, "little") + data)
        while buf:
            buf = buf[os.write(self.fd, buf):]


class _BridgeModule(type(sys)):
    """_wf_bridge: what the SDK (built in or SDK_PATH) talks through."""


def _make_bridge_module(chan, text, mod=None):
    if mod is None:
        mod = _BridgeModule("_wf_bridge")
    state = {"result": None, "pending": False}

    def request(obj):
        if state["pending"]:
            raise RuntimeError("a bridge request is already in progress")
        state["pending"] = True
        try:
            chan.send(obj)
            return chan.recv()
        finally:
            state["pending"] = False

    def get_input():
        return text

    def set_result(value):
        try:
            data = _dumps(value)
            size = len(data.encode("utf-8"))
        except (TypeError, ValueError, RecursionError):
            return False
        if size > chan.max_frame // 2:
            return False
        state["result"] = data
        return True

    mod.request = request
    mod.get_input = get_input
    mod.set_result = set_result
    mod._state = state
    return mod


class _Guard:
    """Refuses imports the sandbox does not allow (named by the host)."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ImportError("import of '%s' is blocked by the sandbox" % name,
                              name=name)
        return None


_sources = {}

# (module, its _wf_bridge module, source): the built-in SDK executed once,
# before any run, by a zygote (src/engine/zygote.py); None elsewhere.
_preloaded_sdk = None


def _load_module(name, filename, source):
    mod = type(sys)(name)
    mod.__file__ = filename
    mod.__builtins__ = __builtins__
    _sources[filename] = source
    sys.modules[name] = mod
    exec(compile(source, filename, "exec", dont_inherit=True), mod.__dict__)
    return mod


def _clean(text):
    return text.encode("utf-8", "replace").decode("utf-8")


def _format_error(exc):
    """The traceback as Python prints it, without the runner's own frames."""
    import linecache
    import traceback
    # Sources are registered only now: linecache is costly to import.
    for filename, source in _sources.items():
        linecache.cache[filename] = (len(source), None,
                                     source.splitlines(True), filename)
    mine = _format_error.__code__.co_filename
    top = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    todo, seen = [top], set()
    while todo:
        te = todo.pop()
        if te is None or id(te) in seen:
            continue
        seen.add(id(te))
        te.stack = traceback.StackSummary.from_list(
            [f for f in te.stack if f.filename != mine])
        todo += [te.__cause__, te.__context__]
    return _clean("".join(top.format()))


def _flush():
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass


def _check(chan, req):
    try:
        compile(req["code"], "plugin.py", "exec", dont_inherit=True)
        chan.send({"op": "checked", "ok": True})
    except SyntaxError as e:
        chan.send({"op": "checked", "ok": False, "line": e.lineno or 1,
                   "col": e.offset or 1, "message": _clean(str(e.msg))})
    except (ValueError, MemoryError, RecursionError) as e:
        chan.send({"op": "checked", "ok": False, "line": 1, "col": 1,
                   "message": _clean(str(e) or type(e).__name__)})


# The WebAssembly engine's hook for a run's stdin (WF_ZYGOTE_GUESTFD_STDIN,
# src/sandbox/zygote_proto.h): one write, kept by the host in memory.
_WASI_STDIN_HOOK = 12


def _give_stdin(text):
    """The input on descriptor 0, as the original wrote it to the plugin: the
    input, a newline, then end of file. Nothing can block (no pipe to fill):
    the WebAssembly engine serves fd 0 from its own memory; the native
    sandbox reads it from a file in the run's private /tmp, unlinked at once
    (it counts against /tmp's size while fd 0 holds it). Where neither can
    be had, sys.stdin alone holds it (fd 0 then stays empty)."""
    import os
    data = (text + "\n").encode("utf-8", "surrogateescape")
    try:
        if sys.platform == "wasi":
            if os.write(_WASI_STDIN_HOOK, data) != len(data):
                raise OSError("the stdin hook took part of the input")
            return
        path = "/tmp/.wf-stdin-%d" % os.getpid()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        try:
            rfd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        finally:
            os.unlink(path)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.dup2(rfd, 0)
        finally:
            os.close(fd)
            os.close(rfd)
    except OSError:
        import io
        sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8",
                                     errors="surrogateescape")


def _exit(code=None):
    raise SystemExit(code)


def _run(chan, req):
    import builtins
    builtins.exit = builtins.quit = _exit
    # The host leaves "sdk" out exactly when this process has the built-in
    # SDK prepared; a request that carries one always gets that one.
    preloaded = None if "sdk" in req else _preloaded_sdk
    bridge = _make_bridge_module(chan, req.get("input", ""),
                                 preloaded[1] if preloaded else None)
    sys.modules["_wf_bridge"] = bridge
    sys.argv = ["plugin.py"]
    _give_stdin(req.get("input", ""))
    status, error = "ok", None
    try:
        if preloaded:
            sys.modules["platform_sdk"] = preloaded[0]
            _sources["platform_sdk.py"] = preloaded[2]
        elif "sdk" in req:
            _load_module("platform_sdk", "platform_sdk.py", req["sdk"])
        else:
            raise SystemError("the run request carries no SDK and none is prepared here")
        if req.get("guard"):
            sys.meta_path.insert(0, _Guard(req["guard"]))
        _load_module("__main__", "plugin.py", req["code"])
    except SystemExit as e:
        code = e.code
        if code not in (None, 0):
            if not isinstance(code, int):
                print(code, file=sys.stderr)
            status = "plugin_error"
            error = "Plugin exited with status %r" % (code,)
    except MemoryError as e:
        status = "memory_limit"
        try:
            error = _format_error(e)
        except MemoryError:
            error = "MemoryError"
    except BaseException as e:
        status = "plugin_error"
        error = _format_error(e)
    _flush()
    if error is not None and len(error) > chan.max_frame // 8:
        # Keep the end: that is where the exception is.
        error = "[...]\n" + error[-(chan.max_frame // 8):]
    done = {"op": "done", "status": status, "error": error}
    if bridge._state["result"] is not None:
        done["result_json"] = bridge._state["result"]
    chan.send(done)


def _main():
    chan = _Bridge(int(sys.argv[1]), 1 << 16)
    req = chan.recv()
    chan.max_frame = int(req.get("max_frame", 1 << 20))
    if req.get("op") == "check":
        _check(chan, req)
    else:
        _run(chan, req)
    _flush()


_main()
