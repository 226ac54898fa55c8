"""Issue 12 point 3: uploads the original accepts are accepted, as it answers
them. The name is the file name less .py (spaces, dots, any letters); only
names no URL can reach or that are dangerous are refused. Percent-encoded
names work in every route; input_type is any short text; a file with a
syntax error is stored (with a warning) and its runs fail as plugin_error.
Over SQLite and PostgreSQL, with the sandbox of the pass (native, wasm)."""
import json
import os
import tempfile
import unittest
import uuid
from urllib.parse import quote

from support.server import ServerCase, api_sandbox, run_cli

ECHO = "from platform_sdk import get_input, send_output\nsend_output('got ' + get_input())\n"
BROKEN = "x = 1\ny = 2\nif x ==:\n    pass\n"
ORIGINAL_FIELDS = ("status", "name", "code", "description", "input_type", "input_hint", "calls")


def tag():
    return uuid.uuid4().hex[:6]


def path(name, tail=""):
    """/api/plugins/<name> with the name percent-encoded, as a client sends it."""
    return "/api/plugins/" + quote(name, safe="") + tail


class CompatUpload:
    def upload_file(self, filename, code=ECHO, **fields):
        return self.server.post_multipart("/api/plugins/upload", fields,
                                          {"file": (filename, code, "text/x-python")})

    def assertOriginalUpload(self, r, name, code=ECHO, input_type="text"):
        """The original's answer: status and its fields, exactly."""
        self.assertEqual(r.status, 200, r)
        b = r.json
        self.assertEqual({k: b[k] for k in ORIGINAL_FIELDS},
                         {"status": "uploaded", "name": name, "code": code, "description": "",
                          "input_type": input_type, "input_hint": "", "calls": 1})

    def test_names_the_original_accepts_work_in_every_route(self):
        t = tag()
        names = [f"my plugin {t}", f"a.b{t}", f"ünïcode{t}", ("n" * 59) + t,
                 ("é" * 122) + t, f"  spaced {t}  ", f"100% {t}?#&+"]
        for name in names:
            with self.subTest(name=name):
                self.assertOriginalUpload(self.upload_file(name + ".py"), name)
                r = self.server.get(path(name, "/code"))
                self.assertEqual(r.status, 200, r)
                self.assertEqual((r.json["name"], r.json["code"]), (name, ECHO))
                listed = [p["name"] for p in self.server.get("/api/plugins/list").json]
                self.assertIn(name, listed)
                r = self.server.post_json("/api/plugins/run", {"plugin_name": name, "input_data": "j"})
                self.assertEqual((r.status, r.json["success"], r.json["plugin"]), (200, True, name), r)
                self.assertIn("got j", r.json["output"])
                r = self.server.run(name, "f")
                self.assertEqual((r.status, r.json["success"]), (200, True), r)
                self.assertIn("got f", r.json["output"])
                r = self.server.get("/api/runs?plugin=" + quote(name, safe=""))
                self.assertEqual(r.status, 200, r)
                self.assertTrue(r.json and all(x["plugin"] == name for x in r.json), r)
                r = self.server.delete(path(name))
                self.assertEqual((r.status, r.json), (200, {"status": "deleted", "name": name}))
                self.assertEqual(self.server.get(path(name, "/code")).status, 404)

    def test_a_nul_in_a_path_names_no_other_plugin(self):
        # libmicrohttpd decoded %00 into a NUL that cut the name short:
        # DELETE /api/plugins/x%00y deleted plugin x.
        name = "x" + tag()
        self.assertOriginalUpload(self.upload_file(name + ".py"), name)
        for r in (self.server.delete(path(name) + "%00y"), self.server.get(path(name) + "%00y/code"),
                  self.server.delete(path(name) + "%00")):
            self.assertEqual(r.status, 404, r)
        self.assertEqual(self.server.get(path(name, "/code")).status, 200)

    def test_the_cli_names_the_plugin_after_its_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            f = os.path.join(tmp, "my plügin.py")
            with open(f, "w", encoding="utf-8") as out:
                out.write(ECHO)
            p = run_cli(["run", f, "--input", "x"], cwd=tmp,
                        env={"SANDBOX": api_sandbox(), "DATA_DIR": os.path.join(tmp, "data")})
            self.assertEqual(p.returncode, 0, p.stderr)
            res = json.loads(p.stdout)
            self.assertEqual((res["plugin"], res["success"], res["output"]), ("my plügin", True, "got x"))

    def test_a_name_of_128_characters_is_the_longest(self):
        name = ("ü" * 122) + tag()
        self.assertOriginalUpload(self.upload_file(name + ".py"), name)
        d = self.assertDetail(self.upload_file(name + "x.py"), 400)
        self.assertIn("128", d)

    def test_names_no_url_can_reach_are_refused(self):
        refused = {
            ".py": "empty", "..py": "'.'", "...py": "'.'", "a\\b.py": "'\\'", "a/b.py": "'/'",
            "a\tb.py": "control", "a\x1bb.py": "control", "a\x7fb.py": "control",
            "a\u0085b.py": "control", ("x" * 129) + ".py": "128",
        }
        for filename, why in refused.items():
            with self.subTest(filename=filename):
                d = self.assertDetail(self.upload_file(filename), 400)
                self.assertIn(why, d)

    def test_unknown_names_are_404_with_the_original_detail(self):
        self.assertEqual(self.server.get(path("no such plugin", "/code")).json,
                         {"detail": "Plugin 'no such plugin' not found"})
        r = self.server.delete(path("ünïcode-none"))
        self.assertEqual((r.status, r.json), (404, {"detail": "Plugin 'ünïcode-none' not found"}))
        r = self.server.run("no such plugin")
        self.assertEqual((r.status, r.json), (404, {"detail": "Plugin 'no such plugin' not found"}))

    def test_input_type_is_any_short_text(self):
        t = tag()
        r = self.upload_file(f"img{t}.py", input_type="image")
        self.assertOriginalUpload(r, f"img{t}", input_type="image")
        r = self.server.get(path(f"img{t}", "/code"))
        self.assertEqual(r.json["input_type"], "image")
        row = [p for p in self.server.get("/api/plugins/list").json if p["name"] == f"img{t}"]
        self.assertEqual(row[0]["input_type"], "image")
        self.assertOriginalUpload(self.upload_file(f"t32{t}.py", input_type="ä" * 32),
                                  f"t32{t}", input_type="ä" * 32)
        d = self.assertDetail(self.upload_file(f"t33{t}.py", input_type="a" * 33), 422)
        self.assertIn("input_type", d)

    def test_a_syntax_error_is_stored_with_a_warning(self):
        name = "broken " + tag()
        r = self.upload_file(name + ".py", BROKEN)
        self.assertOriginalUpload(r, name, BROKEN)
        w = r.json["warnings"]
        self.assertEqual(len(w), 1, w)
        self.assertEqual((w[0]["type"], w[0]["line"]), ("syntax_error", 3))
        self.assertIsInstance(w[0]["column"], int)
        self.assertTrue(w[0]["message"])
        self.assertIn("line 3", w[0]["detail"])
        self.assertEqual(self.server.get(path(name, "/code")).json["code"], BROKEN)
        r = self.server.run(name, "x")
        self.assertEqual(r.status, 200, r)
        b = r.json
        self.assertEqual((b["success"], b["error_type"]), (False, "plugin_error"), b)
        self.assertIn("SyntaxError", b["error"])
        self.assertIn('File "plugin.py", line 3', b["error"])

    def test_a_clean_upload_has_no_warnings(self):
        name = "clean" + tag()
        r = self.upload_file(name + ".py")
        self.assertOriginalUpload(r, name)
        self.assertEqual(r.json["warnings"], [])


    def test_description_and_hint_are_at_most_64_kib(self):
        # Issue 11: the list returns them for every plugin, so they are bounded.
        t = tag()
        most = "é" * (65536 // 2)
        r = self.upload_file(f"big{t}.py", description=most, input_hint=most)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["description"], r.json["input_hint"]), (most, most))
        for field in ("description", "input_hint"):
            with self.subTest(field=field):
                r = self.upload_file(f"over{t}.py", **{field: "x" * 65537})
                d = self.assertDetail(r, 413)
                self.assertIn(field, d)
                self.assertIn("65536", d)
                self.assertEqual(self.server.get(path(f"over{t}", "/code")).status, 404)


class TestCompatUploadSqlite(CompatUpload, ServerCase):
    store = "sqlite"


class TestCompatUploadPostgres(CompatUpload, ServerCase):
    store = "postgresql"


if __name__ == "__main__":
    unittest.main()
