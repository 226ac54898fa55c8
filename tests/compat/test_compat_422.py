"""Issue 12 point 4: a missing or empty required field answers 422 in the
shape FastAPI (pydantic 1) gave the original's clients, one entry per
missing field; other errors keep {"detail": "text"}. Over SQLite and
PostgreSQL."""
import unittest

from support.server import ServerCase


def missing(field):
    """The original's exact answer for a required field it did not get."""
    return {"detail": [{"loc": ["body", field], "msg": "field required",
                        "type": "value_error.missing"}]}


class Compat422:
    def assertMissing(self, r, field):
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json, missing(field))
        self.assertIn("application/json", r.headers.get("content-type", ""))

    def post(self, path, body=b"", ctype=None):
        return self.server.request("POST", path, body=body,
                                   headers={"Content-Type": ctype} if ctype else {})

    # -- run: plugin_name ------------------------------------------------

    def test_run_without_plugin_name(self):
        self.assertMissing(self.server.post_form("/api/plugins/run", {"input_data": "x"}), "plugin_name")
        self.assertMissing(self.server.post_multipart("/api/plugins/run", {"input_data": "x"}),
                           "plugin_name")
        self.assertMissing(self.server.post_json("/api/plugins/run", {"input_data": "x"}), "plugin_name")
        self.assertMissing(self.server.post_json("/api/plugins/run", {"plugin_name": None}),
                           "plugin_name")

    def test_run_with_an_empty_plugin_name(self):
        self.assertMissing(self.server.post_form("/api/plugins/run", {"plugin_name": ""}), "plugin_name")
        self.assertMissing(self.server.post_json("/api/plugins/run", {"plugin_name": ""}), "plugin_name")

    def test_run_without_a_body(self):
        self.assertMissing(self.post("/api/plugins/run"), "plugin_name")
        self.assertMissing(self.post("/api/plugins/run", ctype="application/x-www-form-urlencoded"),
                           "plugin_name")
        self.assertMissing(self.post("/api/plugins/run", ctype="application/json"), "plugin_name")

    def test_run_with_parameters_only_in_the_query_string(self):
        self.assertMissing(self.post("/api/plugins/run?plugin_name=x&input_data=y"), "plugin_name")

    def test_run_with_a_text_plain_body(self):
        r = self.post("/api/plugins/run", b"plugin_name=x&input_data=y", "text/plain")
        self.assertMissing(r, "plugin_name")
        r = self.post("/api/plugins/run", b"plugin_name=x")
        self.assertMissing(r, "plugin_name")

    # -- upload: file ----------------------------------------------------

    def test_upload_without_file(self):
        r = self.server.post_multipart("/api/plugins/upload", {"description": "no file"})
        self.assertMissing(r, "file")

    def test_upload_without_a_body(self):
        self.assertMissing(self.post("/api/plugins/upload"), "file")
        self.assertMissing(self.post("/api/plugins/upload", ctype="multipart/form-data; boundary=x"),
                           "file")

    def test_upload_urlencoded_or_json(self):
        r = self.server.post_form("/api/plugins/upload", {"file": "print(1)", "description": "d"})
        self.assertMissing(r, "file")
        r = self.server.post_json("/api/plugins/upload", {"file": "print(1)"})
        self.assertMissing(r, "file")

    def test_upload_with_parameters_only_in_the_query_string(self):
        self.assertMissing(self.post("/api/plugins/upload?file=x.py"), "file")

    # -- other errors keep a text detail ------------------------------------

    def test_other_errors_keep_a_text_detail(self):
        self.assertEqual(self.server.run("never uploaded").json,
                         {"detail": "Plugin 'never uploaded' not found"})
        r = self.post("/api/plugins/run", b"{not json", "application/json")
        self.assertDetail(r, 400)
        r = self.server.post_multipart("/api/plugins/upload", {},
                                       {"file": ("x.txt", "print(1)\n", "text/plain")})
        self.assertDetail(r, 400)
        r = self.server.get("/api/plugins/list?limit=abc")
        self.assertIsInstance(r.json["detail"], str)


    def test_the_openapi_document_describes_both_shapes(self):
        doc = self.server.get("/openapi.json").json
        schemas = doc["components"]["schemas"]
        self.assertEqual(schemas["ValidationError"]["examples"][0],
                         missing("plugin_name"))
        invalid = doc["components"]["responses"]["Invalid"]["content"]["application/json"]["schema"]
        self.assertEqual(sorted(x["$ref"] for x in invalid["oneOf"]),
                         ["#/components/schemas/Error", "#/components/schemas/ValidationError"])
        for path, method in (("/api/plugins/run", "post"), ("/api/plugins/upload", "post")):
            op = doc["paths"][path][method]["responses"]
            self.assertEqual(op["422"], {"$ref": "#/components/responses/Invalid"})
            self.assertNotIn("415", op)
        # Every answer of every operation has a described body.
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                for status, resp in op["responses"].items():
                    if "$ref" in resp:
                        continue
                    with self.subTest(path=path, method=method, status=status):
                        self.assertTrue(all("schema" in c for c in resp["content"].values()), resp)


class TestCompat422Sqlite(Compat422, ServerCase):
    store = "sqlite"


class TestCompat422Postgres(Compat422, ServerCase):
    store = "postgresql"


if __name__ == "__main__":
    unittest.main()
