"""`make run`'s progress (scripts/run-steps.sh): every slow part of the build is a numbered step
with the elapsed time, a quiet step repeats a line with its current phase, and a run with nothing
to build says so. Driven with a stand-in for make, so it takes seconds and builds nothing."""
import os
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Answers `make -q` with $FAKE_Q; for python-wasm prints build-python's phase lines around pauses.
FAKE_MAKE = """#!/bin/sh
case "$*" in *" -q "*|"-q "*) exit "${FAKE_Q:-1}" ;; esac
case "$*" in *python-wasm*)
    echo "build-python: fetch sources" >&2; sleep 1
    echo "build-python: build CPython for wasm32-wasi" >&2; sleep 3 ;;
esac
case "$*" in *server*) [ -z "$FAKE_FAIL" ] || { echo "cc: error" >&2; exit 2; } ;; esac
exit 0
"""


class RunSteps(unittest.TestCase):
    def run_steps(self, **env):
        with tempfile.TemporaryDirectory() as d:
            make = os.path.join(d, "make")
            with open(make, "w") as f:
                f.write(FAKE_MAKE)
            os.chmod(make, 0o755)
            e = dict(os.environ, MAKE=make, BUILD=os.path.join(d, "build"), WF_PROGRESS_EVERY="1",
                     PYWASM_STAMP=os.path.join(d, "py.path"), ENGINE_MODULE_STAMP=os.path.join(d, "mod.path"))
            e.update(env)
            return subprocess.run(["bash", os.path.join(ROOT, "scripts", "run-steps.sh")], env=e,
                                  capture_output=True, text=True, timeout=120)

    def test_first_run_numbers_its_steps_and_shows_the_phase(self):
        p = self.run_steps()
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        for n in range(1, 8):
            self.assertIn(f"step {n} of 7: ", out)
        self.assertRegex(out, r"step 2 of 7: CPython 3\.11 for WebAssembly \(about .*\), \d+ s elapsed")
        # the heartbeat names the phase build-python is in
        self.assertRegex(out, r"step 2 of 7: CPython 3\.11 for WebAssembly: build CPython for wasm32-wasi, "
                              r"\d+ s in this step, \d+ s elapsed")
        self.assertIn("make run: ready after", out)

    def test_second_run_says_nothing_needed_building(self):
        p = self.run_steps(FAKE_Q="0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("step 2 of 7: CPython 3.11 for WebAssembly: up to date, nothing to build", p.stdout)
        self.assertIn("step 3 of 7: its translation to C (wasm2c) and compilation: up to date", p.stdout)
        self.assertIn("the engine came from the cache", p.stdout)

    def test_a_failed_step_stops_the_run_naming_it(self):
        p = self.run_steps(FAKE_FAIL="1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("step 4 of 7: the server: failed after", p.stderr)
        self.assertNotIn("ready after", p.stdout)


if __name__ == "__main__":
    unittest.main()
