"""What every run must do, whichever way it is started (HTTP or the CLI):
mixed into the concrete suites in test_runs_*.py. Each test asserts the
run result the user sees."""
import textwrap

from runs_support import SANDBOX

# The descriptor the runner is told is its bridge: 3 in the native sandbox,
# 10 in the WebAssembly one (3 is the guest's "/" there).
BRIDGE_FD = 10 if SANDBOX == "wasm" else 3


def dedent(code):
    return textwrap.dedent(code).lstrip("\n")


class RunBehaviour:
    # ---- the original's SDK examples ---------------------------------------
    def test_readme_example(self):
        res = self.run_plugin(dedent('''
            from platform_sdk import call_ai, get_input, send_output, list_models
            text = get_input()
            result = call_ai("mistral:latest", "Summarize: " + text)
            send_output(result)
            models = list_models()
            print(sorted(models))
        '''), "hello world")
        self.assertTrue(res["success"], res)
        self.assertIsNone(res["error"])
        self.assertIsNone(res["error_type"])
        self.assertIn("echo: Summarize: hello world", res["output"])
        self.assertEqual(res["result"], "echo: Summarize: hello world")
        self.assertIn("'mistral:latest'", res["output"])
        self.assertNotIn("ghost:1b", res["output"])  # allowed but not available
        self.assertEqual(res["ai_calls"], 1)
        for key in ("run_id", "plugin", "version", "duration_ms", "started_at", "logs"):
            self.assertIn(key, res)

    def test_whole_input_and_json_result(self):
        res = self.run_plugin(dedent('''
            from platform_sdk import get_input, get_input_json, send_output
            assert get_input() == '{"a": [1, 2],\\n "b": "x"}', repr(get_input())
            send_output(get_input_json())
        '''), '{"a": [1, 2],\n "b": "x"}')
        self.assertTrue(res["success"], res)
        self.assertEqual(res["result"], {"a": [1, 2], "b": "x"})

    def test_traceback_names_plugin_py_only(self):
        res = self.run_plugin("x = 1\nraise ValueError('boom')\n")
        self.assertFalse(res["success"])
        self.assertEqual(res["error_type"], "plugin_error")
        self.assertIn('File "plugin.py", line 2', res["error"])
        self.assertIn("ValueError: boom", res["error"])
        for host in ("runner", "/work", "/tmp/", "<string>"):
            self.assertNotIn(host, res["error"])

    # ---- the original's three security tests --------------------------------
    def test_security_subprocess(self):
        res = self.run_plugin('import subprocess\nsubprocess.run(["cat", "/etc/shadow"])\n')
        self.assertFalse(res["success"], res)
        self.assertEqual(res["error_type"], "plugin_error")
        self.assertRegex(res["error"], r"(PermissionError|OSError)")

    def test_security_network(self):
        res = self.run_plugin('import socket\ns = socket.socket()\ns.connect(("evil.com", 80))\n')
        self.assertFalse(res["success"], res)
        self.assertRegex(res["error"], r"(PermissionError|OSError|gaierror)")

    def test_security_filesystem(self):
        res = self.run_plugin(dedent('''
            import os
            print(os.listdir("/"))
            print(sorted(os.environ))
            for p in ("/etc/passwd", "/work", "/root", "/proc/1/environ"):
                print(p, os.path.exists(p))
        '''))
        self.assertTrue(res["success"], res)
        first = res["output"].splitlines()[0]
        for host in ("'etc'", "'root'", "'home'", "'work'", "'proc'", "'var'"):
            self.assertNotIn(host, first)
        self.assertIn("'tmp'", first)
        self.assertNotIn("PATH", res["output"])
        for p in ("/etc/passwd", "/work", "/root", "/proc/1/environ"):
            self.assertIn(p + " False", res["output"])

    def test_tmp_is_private_and_writable(self):
        code = dedent('''
            import os
            print(os.listdir("/tmp"))
            open("/tmp/mark", "w").write("x")
        ''')
        a = self.run_plugin(code)
        b = self.run_plugin(code)
        self.assertTrue(a["success"], a)
        self.assertEqual(b["output"].strip(), "[]")

    def test_library_is_read_only(self):
        res = self.run_plugin('open("/usr/lib/python3.11/os.py", "a").write("#")\n')
        self.assertFalse(res["success"])
        self.assertRegex(res["error"], r"(OSError|PermissionError|Read-only)")

    def test_import_guard(self):
        res = self.run_plugin("import ctypes\n")
        self.assertFalse(res["success"])
        self.assertIn("ImportError", res["error"])

    # ---- limits --------------------------------------------------------------
    def test_time_limit(self):
        res = self.run_plugin("while True:\n    pass\n")
        self.assertFalse(res["success"])
        self.assertEqual(res["error_type"], "timeout")
        self.assertEqual(res["error"], "Plugin exceeded 4s limit")

    def test_time_limit_counts_ai_time(self):
        self.double.configure(delay=30)
        res = self.run_plugin('from platform_sdk import call_ai\nprint(call_ai("mistral:latest", "x"))\n')
        self.assertFalse(res["success"])
        self.assertEqual(res["error_type"], "timeout")

    def test_memory_limit(self):
        res = self.run_plugin("blocks = []\nwhile True:\n    blocks.append(bytearray(8 << 20))\n")
        self.assertFalse(res["success"])
        self.assertEqual(res["error_type"], "memory_limit", res)

    def test_memory_error_can_be_caught(self):
        res = self.run_plugin(dedent('''
            try:
                x = bytearray(1 << 30)
            except MemoryError:
                print("caught")
        '''))
        self.assertTrue(res["success"], res)
        self.assertIn("caught", res["output"])

    def test_recursion(self):
        res = self.run_plugin("def f(n):\n    return f(n + 1)\nf(0)\n")
        self.assertEqual(res["error_type"], "plugin_error")
        self.assertIn("RecursionError", res["error"])

    def test_output_cut_with_marker(self):
        res = self.run_plugin('import sys\nsys.stdout.write("x" * 100000)\nsys.stderr.write("y" * 100000)\n')
        self.assertTrue(res["success"], res)
        self.assertLess(len(res["output"]), 65536 + 200)
        self.assertIn("truncated", res["output"])
        self.assertLess(len(res["logs"]), 65536 + 200)
        self.assertIn("truncated", res["logs"])

    def test_output_flood_is_stopped(self):
        res = self.run_plugin('while True:\n    print("x" * 10000)\n')
        self.assertFalse(res["success"])
        self.assertEqual(res["error_type"], "plugin_error")
        self.assertIn("output limit", res["error"])

    def test_ai_call_count(self):
        res = self.run_plugin(dedent('''
            from platform_sdk import call_ai
            for i in range(5):
                print(call_ai("mistral:latest", "n%d" % i))
        '''))
        self.assertTrue(res["success"], res)
        lines = res["output"].splitlines()
        self.assertEqual(lines[:3], ["echo: n0", "echo: n1", "echo: n2"])
        self.assertEqual(lines[3:], ["[ERROR] AI call limit reached"] * 2)
        self.assertEqual(res["ai_calls"], 3)

    def test_failed_calls_do_not_count(self):
        res = self.run_plugin(dedent('''
            from platform_sdk import call_ai
            for i in range(4):
                print(call_ai("gpt-4", "x"))
            print(call_ai("mistral:latest", "y" * 101))
            for i in range(3):
                print(call_ai("mistral:latest", "ok"))
        '''))
        lines = res["output"].splitlines()
        self.assertEqual(lines[:4], ["[ERROR] Model 'gpt-4' not allowed"] * 4)
        self.assertTrue(lines[4].startswith("[ERROR] Prompt too long"), lines[4])
        self.assertEqual(lines[5:], ["echo: ok"] * 3)
        self.assertEqual(res["ai_calls"], 3)

    def test_typed_errors(self):
        res = self.run_plugin(dedent('''
            import platform_sdk as sdk
            from platform_sdk import call_ai
            try:
                call_ai("mistral", "x", raise_on_error=True)
            except PermissionError as e:
                assert isinstance(e, sdk.ModelNotAllowedError) and isinstance(e, sdk.AIError)
                print("not allowed:", e)
            try:
                call_ai("mistral:latest", "z" * 101, raise_on_error=True)
            except ValueError as e:
                assert isinstance(e, sdk.PromptTooLongError)
                print("too long")
            try:
                call_ai(123, "x")
            except TypeError:
                print("type")
        '''))
        self.assertTrue(res["success"], res)
        self.assertIn("not allowed: Model 'mistral' not allowed", res["output"])
        self.assertIn("too long", res["output"])
        self.assertIn("type", res["output"])

    # ---- the bridge ----------------------------------------------------------
    def test_forged_requests_on_stdout_are_just_output(self):
        res = self.run_plugin(dedent('''
            import json, struct, sys
            req = json.dumps({"op": "call_ai", "model": "mistral:latest", "prompt": "forged"})
            print(req)
            print("__BRIDGE__" + req)
            data = req.encode()
            sys.stdout.buffer.write(struct.pack("<I", len(data)) + data)
            sys.stdout.flush()
            sys.stderr.write(req + "\\n")
        '''))
        self.assertTrue(res["success"], res)
        self.assertEqual(res["ai_calls"], 0)
        self.assertIn('"prompt": "forged"', res["output"])
        self.assertEqual([r for r in self.double.requests() if r["path"].startswith("/api/generate")], [])

    def test_malformed_frame_is_a_violation(self):
        res = self.run_plugin('import os\nos.write(%d, b"\\x05\\x00\\x00\\x00nojsn")\nimport time\ntime.sleep(2)\n' % BRIDGE_FD)
        self.assertFalse(res["success"])
        self.assertEqual(res["error_type"], "sandbox_violation", res)
        self.assertIn("not valid JSON", res["error"])

    def test_oversized_frame_is_a_violation(self):
        res = self.run_plugin('import os\nos.write(%d, b"\\xff\\xff\\xff\\x7f{")\nimport time\ntime.sleep(2)\n' % BRIDGE_FD)
        self.assertEqual(res["error_type"], "sandbox_violation", res)

    def test_out_of_order_frames_are_a_violation(self):
        res = self.run_plugin(dedent('''
            import json, os, struct, time
            def frame(o):
                d = json.dumps(o).encode()
                return struct.pack("<I", len(d)) + d
            req = frame({"op": "list_models"})
            os.write(%d, req + req)
            time.sleep(2)
        ''' % BRIDGE_FD))
        self.assertEqual(res["error_type"], "sandbox_violation", res)

    def test_unknown_op_is_a_violation(self):
        res = self.run_plugin(dedent('''
            import json, os, struct, time
            d = json.dumps({"op": "exec", "cmd": "id"}).encode()
            os.write(%d, struct.pack("<I", len(d)) + d)
            time.sleep(2)
        ''' % BRIDGE_FD))
        self.assertEqual(res["error_type"], "sandbox_violation", res)

    # ---- Ollama trouble --------------------------------------------------------
    def _ai_error(self, **fault):
        self.double.configure(**fault)
        res = self.run_plugin(dedent('''
            from platform_sdk import call_ai, AIError
            print(call_ai("mistral:latest", "hi"))
            try:
                call_ai("mistral:latest", "hi", raise_on_error=True)
            except AIError as e:
                print("raised", type(e).__name__)
            print("still running")
        '''))
        self.assertTrue(res["success"], res)
        lines = res["output"].splitlines()
        self.assertTrue(lines[0].startswith("[ERROR] "), lines)
        self.assertTrue(lines[1].startswith("raised "), lines)
        self.assertEqual(lines[2], "still running")
        self.assertNotIn("127.0.0.1", res["output"])
        self.assertEqual(res["ai_calls"], 0)
        return lines

    def test_ollama_500(self):
        self._ai_error(fault="http500")

    def test_ollama_garbage(self):
        self._ai_error(fault="garbage")

    def test_ollama_dropped_connection(self):
        self._ai_error(fault="drop")

    def test_ollama_error_mid_stream(self):
        self._ai_error(fault="stream_error")

    def test_ollama_unknown_model(self):
        res = self.run_plugin('from platform_sdk import call_ai\nprint(call_ai("ghost:1b", "hi"))\n')
        self.assertTrue(res["success"], res)
        self.assertTrue(res["output"].startswith("[ERROR] "), res["output"])
        self.assertIn("not found", res["output"])

    def test_ollama_slow_but_in_time(self):
        self.double.configure(delay=1.5)
        res = self.run_plugin('from platform_sdk import call_ai\nprint(call_ai("mistral:latest", "slow"))\n')
        self.assertTrue(res["success"], res)
        self.assertEqual(res["output"], "echo: slow")

    def test_system_prompt_uses_chat(self):
        res = self.run_plugin('from platform_sdk import call_ai\nprint(call_ai("mistral:latest", "p", system="s"))\n')
        self.assertEqual(res["output"], "echo: [s] p")

    # ---- what the host lets through to a model (issue 11 points 3, 10; 12.7) ----
    def generate_requests(self):
        return [r for r in self.double.requests()
                if r["path"] in ("/api/generate", "/api/chat")]

    def test_original_error_strings_exactly(self):
        res = self.run_plugin(dedent('''
            from platform_sdk import call_ai
            print(call_ai("", "x"))
            print(call_ai("mistral:latest", ""))
            print(call_ai("gpt-4", "x"))
            print(call_ai("mistral:latest", "y" * 101))
            for i in range(4):
                call_ai("mistral:latest", "ok")
            print(call_ai("mistral:latest", "one more"))
        '''))
        self.assertTrue(res["success"], res)
        self.assertEqual(res["output"].splitlines(), [
            "[ERROR] Missing model or prompt", "[ERROR] Missing model or prompt",
            "[ERROR] Model 'gpt-4' not allowed", "[ERROR] Prompt too long",
            "[ERROR] AI call limit reached"])
        # the detail is in the run's logs, not in the string
        self.assertIn("101 characters in the prompt; MAX_PROMPT_LENGTH is 100", res["logs"])
        self.assertIn("ALLOWED_MODELS does not list it", res["logs"])

    def test_system_text_counts_against_the_prompt_limit(self):
        res = self.run_plugin(dedent('''
            from platform_sdk import call_ai, PromptTooLongError
            print(call_ai("mistral:latest", "p" * 10, system="s" * 90))
            print(call_ai("mistral:latest", "p" * 10, system="s" * 91))
            print(call_ai("mistral:latest", "p", system="s" * 900000))
            try:
                call_ai("mistral:latest", "p", system="s" * 100, raise_on_error=True)
            except PromptTooLongError as e:
                print("raised", str(e), "|", e.detail)
        '''))
        self.assertTrue(res["success"], res)
        lines = res["output"].splitlines()
        self.assertEqual(lines[0], "echo: [%s] %s" % ("s" * 90, "p" * 10))
        self.assertEqual(lines[1:3], ["[ERROR] Prompt too long"] * 2)
        self.assertEqual(lines[3], "raised Prompt too long | 101 characters in the prompt "
                                   "and the system text; MAX_PROMPT_LENGTH is 100")
        # only the call that fitted reached the model
        self.assertEqual(len(self.generate_requests()), 1)

    def test_options_are_an_allow_list_with_bounds(self):
        res = self.run_plugin(dedent('''
            from platform_sdk import call_ai, AIOptionsError
            print(call_ai("mistral:latest", "a", options={"num_ctx": 1000000, "num_predict": -1,
                                                          "temperature": 0.5, "stop": ["x"]}))
            print(call_ai("mistral:latest", "b", options={"num_gpu": 99}))
            print(call_ai("mistral:latest", "c", options={"temperature": {"nested": [1]}}))
            print(call_ai("mistral:latest", "d", options={"top_p": 7}))
            try:
                call_ai("mistral:latest", "e", options={"use_mmap": False}, raise_on_error=True)
            except ValueError as e:
                assert isinstance(e, AIOptionsError)
                print("raised", e)
        '''))
        self.assertTrue(res["success"], res)
        self.assertEqual(res["output"].splitlines(), [
            "echo: a", "[ERROR] Option 'num_gpu' not allowed",
            "[ERROR] Invalid value for option 'temperature'",
            "[ERROR] Invalid value for option 'top_p'", "raised Option 'use_mmap' not allowed"])
        self.assertIn("option 'top_p' must be a number from 0 to 1", res["logs"])
        sent = self.generate_requests()
        self.assertEqual(len(sent), 1, sent)
        # what reached Ollama: the capped values (MAX_NUM_CTX, MAX_NUM_PREDICT defaults)
        self.assertEqual(sent[0]["body"]["options"],
                         {"num_ctx": 8192, "num_predict": 4096, "temperature": 0.5, "stop": ["x"]})
        self.assertEqual(res["ai_calls"], 1)

    def test_failed_calls_are_capped_at_the_double(self):
        # 110 failing calls (Ollama answers 500) and 100 list_models with a
        # limit of 3: at most 2 x 3 + 1 requests reach Ollama for calls.
        self.double.configure(fault="http500", fault_paths=["/api/generate"])
        res = self.run_plugin(dedent('''
            from platform_sdk import call_ai, list_models
            out = [call_ai("mistral:latest", "n%d" % i) for i in range(110)]
            for i in range(100):
                list_models()
            print(len([o for o in out if o == "[ERROR] AI call limit reached"]))
            print(out[0][:8])
        '''), timeout=120)
        self.assertTrue(res["success"], res)
        self.assertEqual(res["stdout"].splitlines(), ["103", "[ERROR] "])
        self.assertEqual(res["output"], "103\n[ERROR]")
        self.assertEqual(res["ai_calls"], 0)
        self.assertEqual(len(self.generate_requests()), 7)
        self.assertIn("7 (2 x MAX_AI_CALLS_PER_EXECUTION + 1)", res["logs"])
        # list_models is answered from the server's own view of Ollama
        self.assertLessEqual(len(self.double.requests("/api/tags")), 4)
