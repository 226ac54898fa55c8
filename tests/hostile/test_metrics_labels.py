"""/metrics pollution (issue 11, point 11): a plugin calls call_ai with
made-up model names full of quotes, backslashes, newlines and terminal
escapes. Only allowed models get a label of their own (everything else is
model="other"), so the names neither fill the label table (after which
real models used to be counted as "other") nor reach the output; label
values are escaped per the Prometheus text format. With ALLOWED_MODELS=*
a model gets its label once Ollama answered for it. Runs against
WF_TEST_SANDBOX."""
import re
import unittest

import hostile_cases  # noqa: F401  (puts tests/runs on the path)
from hostile_cases import dedent
from support.server import ServerCase

SPAM = dedent('''
    from platform_sdk import call_ai
    for i in range(100):
        call_ai('fake-%d"\\\\\\n\\r\\x1b[31m\\x07\\x00\\x9b}' % i, "hi")
    print(call_ai("mistral:latest", "real"))
''')

# One exposition line: name{labels} value; label values escaped (\\, \", \n).
LINE = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\\n]|\\[\\"n])*",?)*\})? [0-9.e+-]+$')


class MetricsLabelCases:
    def metrics(self):
        r = self.server.get("/metrics")
        self.assertEqual(r.status, 200, r)
        return r.body

    def ai_calls(self, body):
        out = {}
        for line in body.decode().splitlines():
            m = re.match(r'^wasmforge_ai_calls_total\{model="(.*)",outcome="(\w+)"\} (\d+)$', line)
            if m:
                out[(m.group(1), m.group(2))] = int(m.group(3))
        return out

    def check_format(self, body):
        for i, b in enumerate(body):
            self.assertFalse((b < 0x20 and b != 0x0a) or b == 0x7f, f"raw control byte at {i}")
        self.assertNotIn(b"\xc2\x9b", body)
        for line in body.decode("utf-8").splitlines():
            if not line.startswith("#"):
                self.assertRegex(line, LINE)

    def test_made_up_models_are_other(self):
        self.assertEqual(self.server.upload("metrics_spam", SPAM).status, 200)
        for _ in range(2):  # twice: 200 names, far past the old 64-row table
            res = self.server.run("metrics_spam", "").json
            self.assertTrue(res["success"], res)
            self.assertEqual(res["output"], "echo: real")
        body = self.metrics()
        self.check_format(body)
        self.assertNotIn(b"fake-", body)
        calls = self.ai_calls(body)
        self.assertEqual(calls.get(("mistral:latest", "ok")), 2, calls)
        others = sum(n for (model, _), n in calls.items() if model == "other")
        self.assertEqual(others, 200, calls)
        self.assertEqual({model for model, _ in calls}, {"mistral:latest", "other"}, calls)


class TestMetricsLabelsAllowlist(MetricsLabelCases, ServerCase):
    extra_env = {"ALLOWED_MODELS": "mistral:latest,gemma2:2b"}


class TestMetricsLabelsEveryModel(MetricsLabelCases, ServerCase):
    # every model allowed: the made-up names reach the Ollama double, which
    # answers 404; a label only for what Ollama answered for
    extra_env = {"ALLOWED_MODELS": "*", "MAX_AI_CALLS_PER_EXECUTION": "100"}


if __name__ == "__main__":
    unittest.main()
