#!/usr/bin/python3
"""A stand-in for Ollama's HTTP API, for tests: the documented endpoints with
their shapes, plus faults on demand (slow, dropped, garbage, errors).

Endpoints (as Ollama documents them): GET /api/version, GET /api/tags,
POST /api/show, POST /api/generate, POST /api/chat (streamed as NDJSON by
default, or one object with "stream": false). Errors are {"error": "..."}:
404 for an unknown model, 400 for bad JSON or a missing model.

Behaviour is set through an admin API that tests use:
  POST /_double/config   JSON merged into the configuration ({"reset": true}
                         first restores the defaults)
  GET  /_double/config   the configuration
  GET  /_double/requests every API request received (method, path, headers,
                         body parsed as JSON when it is JSON, the client's
                         port: equal ports mean a reused connection)
  DELETE /_double/requests  forget them

Configuration keys (each may also be set per model under
"per_model": {"<model>": {...}}, which wins for requests naming that model):
  delay          seconds to wait before answering (API paths only)
  fault          null, "http500", "garbage" (200 with a body that is not
                 JSON), "drop" (close the connection without an answer),
                 "drop_mid" (stream a few chunks, then close), "stream_error"
                 (stream a few chunks, then {"error": ...})
  fault_paths    the API paths the fault and delay apply to (default: all)
  raw            null, or {"status": 200, "body": "<text>"}: answer exactly
                 this instead (for answers of the wrong shape)
  answers        {"<model>": "<text>"} canned answers; otherwise the answer
                 echoes the prompt: "echo: <prompt>" (for chat the last user
                 message; with a system message "echo: [<system>] <prompt>")
  chunk_chars    characters per streamed chunk
  models         the list /api/tags reports (Ollama's own entry shape)
  version        what /api/version reports

Library use:
    d = OllamaDouble(); url = d.start(); d.configure(delay=5); ...; d.stop()
CLI: ollama_double.py [--host H] [--port 0] [--config JSON]; prints the port
on the first line of stdout, then serves until killed.
"""
import argparse
import copy
import hashlib
import json
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _model(name, family, families, size, psize, quant):
    digest = hashlib.sha256(name.encode()).hexdigest()
    return {
        "name": name,
        "model": name,
        "modified_at": "2026-10-01T12:00:00.000000000Z",
        "size": size,
        "digest": digest,
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": families,
            "parameter_size": psize,
            "quantization_level": quant,
        },
    }


DEFAULT_MODELS = [
    _model("mistral:latest", "llama", ["llama"], 4113301824, "7.2B", "Q4_0"),
    _model("llama3.2:latest", "llama", ["llama"], 2019393189, "3.2B", "Q4_K_M"),
    _model("gemma2:2b", "gemma2", ["gemma2"], 1629518495, "2.6B", "Q4_0"),
    _model("qwen2.5:1.5b", "qwen2", ["qwen2"], 986061892, "1.5B", "Q4_K_M"),
    _model("qwen2.5-coder:1.5b", "qwen2", ["qwen2"], 986062089, "1.5B", "Q4_K_M"),
    _model("nomic-embed-text:latest", "nomic-bert", ["nomic-bert"], 274302450, "137M", "F16"),
    _model("llava:7b", "llama", ["llama", "clip"], 4733363377, "7B", "Q4_0"),
]

DEFAULTS = {
    "delay": 0.0,
    "fault": None,
    "fault_paths": None,
    "answers": {},
    "chunk_chars": 4,
    "models": DEFAULT_MODELS,
    "version": "0.5.7",
    "per_model": {},
    "raw": None,
}

API_PATHS = ("/api/version", "/api/tags", "/api/show", "/api/generate", "/api/chat")
FAULTS = (None, "http500", "garbage", "drop", "drop_mid", "stream_error")


def _now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ollama-double"

    def log_message(self, fmt, *args):  # tests read the request record instead
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle and
        # delayed ACKs add 40 ms to every keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def double(self):
        return self.server.double

    # -- plumbing --------------------------------------------------------

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, obj=None, raw=None, ctype="application/json; charset=utf-8"):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status, msg):
        self._send(status, {"error": msg})

    def _drop(self):
        # Close without a word: the client sees the connection end early.
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    # -- verbs -----------------------------------------------------------

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def _dispatch(self, method):
        path = self.path.split("?", 1)[0]
        raw = self._read_body()
        if path.startswith("/_double/"):
            return self._admin(method, path, raw)
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        self.double._record({
            "method": method, "path": path, "query": self.path[len(path):],
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body, "time": time.time(), "peer_port": self.client_address[1],
        })
        model = body.get("model") if isinstance(body, dict) else None
        cfg = self.double._effective(model if isinstance(model, str) else None)
        applies = cfg["fault_paths"] is None or path in cfg["fault_paths"]
        if applies and cfg["delay"]:
            time.sleep(float(cfg["delay"]))
        fault = cfg["fault"] if applies else None
        if applies and cfg["raw"]:
            raw_ans = cfg["raw"]
            return self._send(int(raw_ans.get("status", 200)), raw=str(raw_ans.get("body", "")).encode(),
                              ctype=raw_ans.get("content_type", "application/json"))
        if fault == "http500":
            return self._error(500, "internal server error (double)")
        if fault == "garbage":
            return self._send(200, raw=b"<html>\x00\xff this is not JSON", ctype="application/json")
        if fault == "drop":
            return self._drop()

        routes = {
            ("GET", "/"): lambda: self._send(200, raw=b"Ollama is running", ctype="text/plain; charset=utf-8"),
            ("HEAD", "/"): lambda: self._send(200, raw=b""),
            ("GET", "/api/version"): lambda: self._send(200, {"version": cfg["version"]}),
            ("GET", "/api/tags"): lambda: self._send(200, {"models": cfg["models"]}),
            ("POST", "/api/show"): lambda: self._show(raw, cfg),
            ("POST", "/api/generate"): lambda: self._complete(raw, cfg, fault, chat=False),
            ("POST", "/api/chat"): lambda: self._complete(raw, cfg, fault, chat=True),
        }
        handler = routes.get((method, path))
        if handler:
            return handler()
        if any(p == path for (_, p) in routes):
            return self._send(405, raw=b"405 method not allowed", ctype="text/plain")
        return self._send(404, raw=b"404 page not found", ctype="text/plain")

    # -- API -------------------------------------------------------------

    def _parse(self, raw):
        """The request's JSON object and its model entry, or None after an error answer."""
        try:
            req = json.loads(raw or b"{}")
        except ValueError as e:
            self._error(400, f"invalid character in request body: {e}")
            return None, None
        if not isinstance(req, dict):
            self._error(400, "json: cannot unmarshal request body into an object")
            return None, None
        name = req.get("model") or req.get("name")
        if not isinstance(name, str) or not name:
            self._error(400, "model is required")
            return None, None
        entry = self.double._find_model(name)
        if entry is None:
            self._error(404, f"model '{name}' not found")
            return None, None
        return req, entry

    def _show(self, raw, cfg):
        req, entry = self._parse(raw)
        if req is None:
            return
        families = entry["details"].get("families") or []
        caps = ["completion"]
        if "clip" in families or "mllama" in families:
            caps.append("vision")
        if "bert" in entry["details"].get("family", ""):
            caps = ["embedding"]
        self._send(200, {
            "modelfile": f"# Modelfile generated by \"ollama show\"\nFROM {entry['name']}\n",
            "parameters": "stop \"<|end|>\"",
            "template": "{{ .Prompt }}",
            "details": entry["details"],
            "model_info": {"general.architecture": entry["details"].get("family", "")},
            "capabilities": caps,
            "modified_at": entry["modified_at"],
        })

    def _answer_text(self, req, cfg, chat):
        name = req["model"]
        if name in cfg["answers"]:
            return str(cfg["answers"][name])
        system = req.get("system")
        prompt = req.get("prompt", "")
        if chat:
            prompt = ""
            for m in req.get("messages") or []:
                if isinstance(m, dict) and m.get("role") == "system":
                    system = m.get("content")
                elif isinstance(m, dict) and m.get("role") == "user":
                    prompt = m.get("content", "")
        if system:
            return f"echo: [{system}] {prompt}"
        return f"echo: {prompt}"

    def _complete(self, raw, cfg, fault, chat):
        req, entry = self._parse(raw)
        if req is None:
            return
        if chat and not isinstance(req.get("messages", []), list):
            return self._error(400, "messages must be a list")
        if not chat and not isinstance(req.get("prompt", ""), str):
            return self._error(400, "prompt must be a string")
        text = self._answer_text(req, cfg, chat)
        name = entry["name"]
        stats = {
            "done_reason": "stop",
            "total_duration": 123456789,
            "load_duration": 1234567,
            "prompt_eval_count": len(str(req.get("prompt", req.get("messages", "")))) // 4 + 1,
            "prompt_eval_duration": 2345678,
            "eval_count": len(text) // 4 + 1,
            "eval_duration": 34567890,
        }

        def piece(s, done):
            obj = {"model": name, "created_at": _now()}
            if chat:
                obj["message"] = {"role": "assistant", "content": s}
            else:
                obj["response"] = s
            obj["done"] = done
            if done:
                obj.update(stats)
                if not chat:
                    obj["context"] = [1, 2, 3]
            return obj

        if req.get("stream", True) is False:
            if fault in ("drop_mid", "stream_error"):
                # Without a stream these become a dropped connection / an error body.
                if fault == "drop_mid":
                    return self._drop()
                return self._error(500, "model runner has unexpectedly stopped (double)")
            return self._send(200, piece(text, True))

        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        n = max(1, int(cfg["chunk_chars"]))
        pieces = [text[i:i + n] for i in range(0, len(text), n)] or [""]
        try:
            for i, p in enumerate(pieces):
                if fault in ("drop_mid", "stream_error") and i == 2:
                    break
                self._chunk((json.dumps(piece(p, False)) + "\n").encode())
            if fault == "drop_mid":
                return self._drop()
            if fault == "stream_error":
                self._chunk(b'{"error":"an error was encountered while running the model (double)"}\n')
            else:
                self._chunk((json.dumps(piece("", True)) + "\n").encode())
            self._chunk(b"")
        except OSError:
            self.close_connection = True

    # -- admin -----------------------------------------------------------

    def _admin(self, method, path, raw):
        d = self.double
        if path == "/_double/config" and method == "POST":
            try:
                changes = json.loads(raw or b"{}")
                d.configure(**changes)
            except (ValueError, TypeError) as e:
                return self._send(400, {"error": str(e)})
            return self._send(200, d.config())
        if path == "/_double/config" and method == "GET":
            return self._send(200, d.config())
        if path == "/_double/requests" and method == "GET":
            return self._send(200, d.requests())
        if path == "/_double/requests" and method == "DELETE":
            d.clear_requests()
            return self._send(200, {"status": "cleared"})
        return self._send(404, {"error": "unknown admin path"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients that hang up (timeouts, the faults we inject) are normal here.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class OllamaDouble:
    """The double; start() serves it from a thread and returns its base URL."""

    def __init__(self, host="127.0.0.1", port=0, **config):
        self._lock = threading.Lock()
        self._cfg = copy.deepcopy(DEFAULTS)
        self._requests = []
        self._host, self._port = host, port
        self._httpd = None
        self._thread = None
        if config:
            self.configure(**config)

    # lifecycle
    def start(self):
        self._httpd = _Server((self._host, self._port), _Handler)
        self._httpd.double = self
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self.url

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._port

    @property
    def url(self):
        return f"http://{self._host}:{self._port}"

    # behaviour
    def configure(self, reset=False, **changes):
        for k, v in changes.items():
            if k not in DEFAULTS:
                raise TypeError(f"unknown setting {k!r}; known: {', '.join(sorted(DEFAULTS))}")
            if k == "fault" and v not in FAULTS:
                raise TypeError(f"fault must be one of {FAULTS}")
        with self._lock:
            if reset:
                self._cfg = copy.deepcopy(DEFAULTS)
            self._cfg.update(copy.deepcopy(changes))

    def reset(self):
        self.configure(reset=True)
        self.clear_requests()

    def config(self):
        with self._lock:
            return copy.deepcopy(self._cfg)

    def _effective(self, model):
        with self._lock:
            cfg = dict(self._cfg)
            if model and model in cfg["per_model"]:
                cfg.update(cfg["per_model"][model])
            return cfg

    def _find_model(self, name):
        with self._lock:
            for m in self._cfg["models"]:
                if m["name"] == name or m["model"] == name:
                    return m
                if ":" not in name and m["name"] == name + ":latest":
                    return m
        return None

    # request record
    def _record(self, entry):
        with self._lock:
            self._requests.append(entry)

    def requests(self, path=None):
        with self._lock:
            return [r for r in self._requests if path is None or r["path"] == path]

    def clear_requests(self):
        with self._lock:
            self._requests.clear()


def closed_port_url(host="127.0.0.1"):
    """A URL on which nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    return f"http://{host}:{port}"


def main(argv=None):
    ap = argparse.ArgumentParser(description="Ollama API double for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--config", default="{}", help="JSON settings (see the module doc)")
    args = ap.parse_args(argv)
    d = OllamaDouble(args.host, args.port, **json.loads(args.config))
    d.start()
    print(d.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        d.stop()


if __name__ == "__main__":
    main()
