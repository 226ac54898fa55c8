"""Log injection (issue 11, point 12): strings that a client or a plugin
chooses reach the server's log (request paths, plugin names, a broken
bridge frame's text in the sandbox-violation line). Terminal escape
sequences and line breaks among them must arrive escaped, in the text and
the JSON format: the log file holds no raw control character (C0, DEL, C1)
and no line that a client split in two. Runs against WF_TEST_SANDBOX."""
import json
import unittest

import hostile_cases  # noqa: F401  (puts tests/runs on the path)
from hostile_cases import BRIDGE_FD, dedent
from support.server import ServerCase

ESC_SEQ = "\x1b[2J\x1b]0;pwned\x07\x1b[31m"
PCT_ESC = "%1b%5b2J%1b%5d0%3bpwned%07%c2%9b31m%0d%0aINFO%20forged%20line%7f%ff"

# A plugin that writes a bridge frame which is not JSON: the host's parser
# quotes the bad token, and the run ends as a sandbox violation that the
# server logs with that text.
BAD_FRAME = dedent('''
    import os, struct, time
    junk = %r.encode("latin-1")
    os.write(%d, struct.pack("<I", len(junk)) + junk)
    time.sleep(5)
''') % ("\x1b[2J\x1b]0;pwned\x07\x9b31m\r\nforged", BRIDGE_FD)


def raw_controls(data):
    """(offset, byte) of each control character in the log, newline apart;
    a C1 control counts in its UTF-8 form (C2 80..C2 9F)."""
    found = []
    for i, b in enumerate(data):
        if (b < 0x20 and b != 0x0a) or b == 0x7f:
            found.append((i, hex(b)))
        elif b == 0xc2 and i + 1 < len(data) and 0x80 <= data[i + 1] < 0xa0:
            found.append((i, "C1 " + hex(data[i + 1])))
    return found


class LogInjectionCases:
    def log_bytes(self):
        with open(self.server.log_path, "rb") as f:
            return f.read()

    def test_hostile_strings_are_escaped_in_the_log(self):
        s = self.server
        before = len(self.log_bytes())
        # a path and a plugin name with escape sequences, CR LF and a forged line
        s.get("/" + PCT_ESC)
        s.get("/api/plugins/" + PCT_ESC + "/code")
        s.delete("/api/plugins/" + PCT_ESC)
        s.get("/api/runs/" + PCT_ESC)
        # a run whose bridge frame carries them into the violation's log line
        self.assertEqual(s.upload("log_inject", BAD_FRAME).status, 200)
        res = s.run("log_inject", "").json
        self.assertEqual(res["error_type"], "sandbox_violation", res)
        s.get("/health")  # the last line: everything above was written before it
        data = self.log_bytes()[before:]
        violation = [l for l in data.split(b"\n") if b"sandbox violation" in l]
        self.assertTrue(violation, data[-3000:])
        # the frame's text is in the line, escaped
        self.assertTrue(any(b"\\u001b" in l for l in violation), violation)
        self.assertEqual(raw_controls(data), [], data[-3000:])
        for line in data.split(b"\n"):
            self.assertFalse(line.lstrip().startswith(b"INFO forged"), line)
            self.assertNotIn(b"] INFO forged", line)
        self.check_lines(data)

    def check_lines(self, data):
        pass


class TestLogInjectionText(LogInjectionCases, ServerCase):
    extra_env = {"LOG_FORMAT": "text", "MAX_EXECUTION_TIME": "20"}

    def check_lines(self, data):
        # the escapes are there, readable, on the request's own line
        self.assertIn(b"\\u001b[2J", data)
        self.assertIn(b"\\r\\nINFO forged", data)


class TestLogInjectionJson(LogInjectionCases, ServerCase):
    extra_env = {"LOG_FORMAT": "json", "MAX_EXECUTION_TIME": "20"}

    def check_lines(self, data):
        paths = []
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            obj = json.loads(line.decode("utf-8"))  # strict UTF-8 and JSON
            if obj.get("msg") == "request":
                paths.append(obj["path"])
        # the text itself survives, escaped by JSON (invalid bytes as U+FFFD)
        self.assertIn("/\x1b[2J\x1b]0;pwned\x07\x9b31m\r\nINFO forged line\x7f\ufffd", paths)


if __name__ == "__main__":
    unittest.main()
