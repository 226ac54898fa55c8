"""Issue 12 point 2: the input is on stdin too. The original wrote
input_data + "\\n" to the plugin's stdin and closed it: input() and
sys.stdin.read() work, and get_input() still returns the whole input (the
original's first line only is a bug we do not copy). Large inputs (up to
MAX_INPUT_BYTES) cannot block: nothing is written through a pipe.
Over SQLite and PostgreSQL, with the sandbox of the pass (native, wasm)."""
import hashlib
import unittest
import uuid

from support.server import ServerCase

MAX_INPUT_BYTES = 1 << 20   # the default


class CompatStdin:
    def run_code(self, code, input_data=""):
        name = "in_" + uuid.uuid4().hex[:8]
        r = self.server.upload(name, code)
        self.assertEqual(r.status, 200, r)
        r = self.server.post_json("/api/plugins/run", {"plugin_name": name, "input_data": input_data},
                                  timeout=120)
        self.assertEqual(r.status, 200, r)
        return r.json

    def assertOriginal(self, res, output):
        self.assertEqual({k: res[k] for k in ("success", "output", "error", "error_type")},
                         {"success": True, "output": output, "error": None, "error_type": None},
                         res)

    def test_input_reads_the_first_line(self):
        res = self.run_code("x = input(); print('got:' + x)\n", "via stdin")
        self.assertOriginal(res, "got:via stdin")

    def test_stdin_is_the_input_and_a_newline(self):
        code = ("import sys\nfrom platform_sdk import get_input\n"
                "data = sys.stdin.read()\n"
                "print(repr(data), repr(get_input()), repr(sys.stdin.read()))\n")
        res = self.run_code(code, "line one\nline two")
        self.assertOriginal(res, "'line one\\nline two\\n' 'line one\\nline two' ''")
        res = self.run_code(code, "")
        self.assertOriginal(res, "'\\n' '' ''")
        res = self.run_code(code, "h\u00e9llo \u2713")
        self.assertOriginal(res, "'h\u00e9llo \u2713\\n' 'h\u00e9llo \u2713' ''")

    def test_input_twice_reaches_the_end(self):
        code = ("first = input()\ntry:\n    input()\nexcept EOFError:\n"
                "    print('EOF after', first)\n")
        self.assertOriginal(self.run_code(code, "only"), "EOF after only")

    def test_each_run_has_its_own_stdin(self):
        code = "import sys\nprint(sys.stdin.read().strip())\n"
        for i in range(5):
            self.assertOriginal(self.run_code(code, "run %d" % i), "run %d" % i)

    def test_the_largest_input_on_descriptor_0(self):
        # MAX_INPUT_BYTES of input, read from descriptor 0 itself: it all
        # arrives (four times what a pipe holds) and nothing blocks.
        data = "".join(chr(ord("a") + i % 26) for i in range(MAX_INPUT_BYTES))
        code = ("import hashlib, os\nchunks = []\nwhile True:\n"
                "    b = os.read(0, 65536)\n    if not b:\n        break\n    chunks.append(b)\n"
                "d = b''.join(chunks)\nprint(len(d), hashlib.sha256(d).hexdigest())\n")
        res = self.run_code(code, data)
        want = (data + "\n").encode()
        self.assertOriginal(res, "%d %s" % (len(want), hashlib.sha256(want).hexdigest()))
        code = ("import sys\nfrom platform_sdk import get_input\n"
                "print(sys.stdin.read() == get_input() + '\\n', len(get_input()))\n")
        self.assertOriginal(self.run_code(code, data), "True %d" % MAX_INPUT_BYTES)


class TestCompatStdinSqlite(CompatStdin, ServerCase):
    store = "sqlite"


class TestCompatStdinPostgres(CompatStdin, ServerCase):
    store = "postgresql"


if __name__ == "__main__":
    unittest.main()
