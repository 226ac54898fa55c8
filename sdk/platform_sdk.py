"""platform_sdk - what a WasmForge plugin imports to read its input, call AI
models through the host and return its output.

    from platform_sdk import call_ai, get_input, send_output, list_models

Every limit (allowed models, prompt length, number of calls) is enforced by
the host on its side of the bridge; this module only shapes the requests.
"""
import _wf_bridge

# Declares that this SDK speaks WasmForge's bridge (the _wf_bridge module).
# A replacement SDK (SDK_PATH) without this line is not used: the server
# warns and uses the built-in one.
WASMFORGE_BRIDGE = 1

__all__ = ["get_input", "get_input_json", "call_ai", "send_output",
           "list_models", "AIError", "AICallLimitError",
           "ModelNotAllowedError", "PromptTooLongError", "AIOptionsError",
           "AIUnavailableError", "AITimeoutError"]


class AIError(Exception):
    """An AI call was refused or failed. str(e) is the reason, as the
    "[ERROR] ..." text gives it; e.detail says more, when the host did."""

    def __init__(self, message="", detail=None):
        super().__init__(message)
        self.detail = detail


class AICallLimitError(AIError):
    """The run used up its AI calls (MAX_AI_CALLS_PER_EXECUTION)."""


class ModelNotAllowedError(AIError, PermissionError):
    """The model is not in the allowlist."""


class PromptTooLongError(AIError, ValueError):
    """The prompt is longer than MAX_PROMPT_LENGTH characters."""


class AIOptionsError(AIError, ValueError):
    """An option is not one a plugin may set, or its value is out of bounds."""


class AIUnavailableError(AIError, ConnectionError):
    """The AI service could not be reached or answered with an error."""


class AITimeoutError(AIError, TimeoutError):
    """The AI service did not answer before the run's deadline."""


_ERRORS = {cls.__name__: cls for cls in (
    AIError, AICallLimitError, ModelNotAllowedError, PromptTooLongError,
    AIOptionsError, AIUnavailableError, AITimeoutError)}


def get_input():
    """The run's whole input_data, as a string."""
    return _wf_bridge.get_input()


def get_input_json():
    """The run's input parsed as JSON."""
    import json
    return json.loads(get_input())


def _optional(name, value, kind):
    if value is not None and not isinstance(value, kind):
        raise TypeError("%s must be %s or None, not %s"
                        % (name, kind.__name__, type(value).__name__))


def call_ai(model, prompt, *, system=None, options=None, raise_on_error=False):
    """Ask `model` to complete `prompt`; returns the full answer.

    On a refusal or failure returns "[ERROR] <reason>" (the reason's detail,
    when there is one, goes to stderr: the run's logs), or raises a
    subclass of AIError when raise_on_error is true."""
    _optional("model", model, str)
    _optional("prompt", prompt, str)
    _optional("system", system, str)
    _optional("options", options, dict)
    reply = _wf_bridge.request({"op": "call_ai", "model": model or "",
                                "prompt": prompt or "", "system": system,
                                "options": options})
    if reply.get("ok"):
        return reply["result"]
    message = reply.get("message") or "AI call failed"
    detail = reply.get("detail")
    if raise_on_error:
        raise _ERRORS.get(reply.get("error"), AIError)(message, detail)
    if detail:
        import sys
        print("call_ai: [ERROR] %s: %s" % (message, detail), file=sys.stderr, flush=True)
    return "[ERROR] " + message


def list_models():
    """Names of the models that are both allowed and available."""
    reply = _wf_bridge.request({"op": "list_models"})
    if reply.get("ok"):
        return list(reply["result"])
    return []


def send_output(value):
    """Print str(value) and keep value as the run's JSON result."""
    print(str(value), flush=True)
    _wf_bridge.set_result(value)
