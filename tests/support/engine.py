"""CPython inside the WebAssembly engine as a plain interpreter, for tests and benchmarks:
$WF_BUILD/engine/python-run (mk/enginebench.mk) with the library image of the current build."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("WF_BUILD", os.path.join(ROOT, "build"))
PYRUN = os.path.join(BUILD, "engine", "python-run")


def python_wasm_dir():
    """The CPython build's cache folder (python.wasm, stdlib.tar), or None when not built."""
    try:
        with open(os.path.join(BUILD, "engine", "python-wasm.path")) as f:
            d = f.read().strip()
    except OSError:
        return None
    if os.path.exists(os.path.join(d, "python.wasm")) and os.path.exists(os.path.join(d, "stdlib.tar")):
        return d
    return None


def missing():
    """Why the engine cannot run here, or None when it can."""
    if not python_wasm_dir():
        return "the engine's CPython is not built (make python-wasm)"
    if not os.access(PYRUN, os.X_OK):
        return "%s is not built (make engine-pyrun)" % PYRUN
    return None


def run_python(code, *args, image=None, opts=(), timeout=300):
    """Runs `python -c code args...` in the engine; a CompletedProcess with text output."""
    image = image or os.path.join(python_wasm_dir(), "stdlib.tar")
    return subprocess.run([PYRUN, "--image", image, *opts, "--", "python", "-c", code, *args],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
