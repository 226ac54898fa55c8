"""The fuzzers the docs name keep building, and their corpora keep passing.

`make fuzz-bridge`, `make fuzz-http` and `make fuzz-wasi` (libFuzzer with ASan and UBSan, clang-19,
the x86-64 runtimes from libclang-rt-19-dev) each build and run for 3 seconds over their corpus here;
their long runs (60 s by default) stay a manual step. A fuzzer that does not link on a fresh machine,
or a corpus input that now crashes, fails `make test`.
"""
import os
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# target: the make variable that bounds its run, in seconds
FUZZERS = {"fuzz-bridge": "FUZZ_SECONDS", "fuzz-http": "HTTP_FUZZ_SECONDS", "fuzz-wasi": "FUZZ_TIME"}


class Fuzzers(unittest.TestCase):
    def fuzz(self, target):
        p = subprocess.run(["make", "--no-print-directory", "-C", ROOT, target, FUZZERS[target] + "=3"],
                           capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
                           errors="replace")
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, f"make {target} failed:\n{out[-4000:]}")
        # libFuzzer's closing line: it ran inputs and stopped on its time bound, not on a finding.
        self.assertRegex(out, r"Done \d+ runs in \d+ second", out[-2000:])

    def test_fuzz_bridge(self):
        self.fuzz("fuzz-bridge")

    def test_fuzz_http(self):
        self.fuzz("fuzz-http")

    def test_fuzz_wasi(self):
        self.fuzz("fuzz-wasi")


if __name__ == "__main__":
    unittest.main()
