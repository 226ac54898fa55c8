"""The Ollama double keeps to Ollama's documented API, and its faults do what
the other suites rely on."""
import http.client
import json
import threading
import unittest

from support.ollama_double import OllamaDouble


class TestOllamaDouble(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = OllamaDouble()
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def setUp(self):
        self.d.reset()

    def call(self, method, path, body=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
            c.request(method, path, body=data)
            r = c.getresponse()
            return r.status, r.getheader("Content-Type"), r.read()
        finally:
            c.close()

    def test_tags_entries_have_the_documented_fields(self):
        st, _, body = self.call("GET", "/api/tags")
        self.assertEqual(st, 200)
        for m in json.loads(body)["models"]:
            for k in ("name", "model", "modified_at", "size", "digest", "details"):
                self.assertIn(k, m)
            for k in ("format", "family", "families", "parameter_size", "quantization_level"):
                self.assertIn(k, m["details"])

    def test_generate_stream_is_ndjson_ending_with_done(self):
        st, ctype, body = self.call("POST", "/api/generate", {"model": "mistral:latest", "prompt": "abcdefghij"})
        self.assertEqual(st, 200)
        self.assertEqual(ctype, "application/x-ndjson")
        lines = [json.loads(l) for l in body.decode().splitlines()]
        self.assertTrue(all(not l["done"] for l in lines[:-1]))
        self.assertTrue(lines[-1]["done"])
        for k in ("total_duration", "eval_count", "prompt_eval_count", "done_reason"):
            self.assertIn(k, lines[-1])
        self.assertEqual("".join(l["response"] for l in lines), "echo: abcdefghij")

    def test_chat_not_streamed(self):
        st, _, body = self.call("POST", "/api/chat", {
            "model": "gemma2:2b", "stream": False,
            "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]})
        self.assertEqual(st, 200)
        b = json.loads(body)
        self.assertEqual(b["message"], {"role": "assistant", "content": "echo: [S] U"})
        self.assertTrue(b["done"])

    def test_errors(self):
        st, _, body = self.call("POST", "/api/generate", {"model": "ghost", "prompt": "x"})
        self.assertEqual((st, json.loads(body)), (404, {"error": "model 'ghost' not found"}))
        st, _, body = self.call("POST", "/api/generate", b"{not json")
        self.assertEqual(st, 400)
        self.assertIn("error", json.loads(body))
        st, _, body = self.call("POST", "/api/show", {"prompt": "x"})
        self.assertEqual((st, json.loads(body)), (400, {"error": "model is required"}))

    def test_per_model_canned_answer_and_fault(self):
        self.d.configure(answers={"mistral:latest": "Paris."},
                         per_model={"gemma2:2b": {"fault": "http500"}})
        _, _, body = self.call("POST", "/api/generate", {"model": "mistral:latest", "prompt": "q", "stream": False})
        self.assertEqual(json.loads(body)["response"], "Paris.")
        st, _, _ = self.call("POST", "/api/generate", {"model": "gemma2:2b", "prompt": "q"})
        self.assertEqual(st, 500)

    def test_stream_error_and_drop(self):
        self.d.configure(fault="stream_error")
        _, _, body = self.call("POST", "/api/generate", {"model": "mistral:latest", "prompt": "long prompt"})
        self.assertIn("error", json.loads(body.decode().splitlines()[-1]))
        self.d.configure(fault="drop")
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.call("GET", "/api/tags")

    def test_records_requests(self):
        self.call("POST", "/api/generate", {"model": "mistral:latest", "prompt": "recorded?"})
        reqs = self.d.requests("/api/generate")
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["body"]["prompt"], "recorded?")
        st, _, body = self.call("GET", "/_double/requests")
        self.assertEqual(json.loads(body)[0]["path"], "/api/generate")

    def test_admin_config_rejects_unknown_settings(self):
        st, _, _ = self.call("POST", "/_double/config", {"nonsense": 1})
        self.assertEqual(st, 400)
        st, _, _ = self.call("POST", "/_double/config", {"fault": "meteor"})
        self.assertEqual(st, 400)

    def test_many_concurrent_slow_calls(self):
        self.d.configure(delay=1)
        results = []

        def one():
            try:
                results.append(self.call("GET", "/api/version", timeout=60)[0])
            except OSError as e:
                results.append(repr(e))

        threads = [threading.Thread(target=one) for _ in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [200] * 200)


if __name__ == "__main__":
    unittest.main()
