# zygote.py - the Python side of both zygotes: initialise once, then fork
# per run and run sdk/runner.py in each child.
#
# Started as `python -I -S -B -X utf8 -u -c <this file> <runner source>
# [<SDK source>]` by the WebAssembly engine, where the fork happens inside a
# WASI read of the control hook (src/engine/zygote.c), and as
# `... <runner source> <SDK source or ""> native <seccomp program, hex>
# <drop to nobody: 0|1> <user namespace: 0|1>` by the native sandbox, where
# it happens inside _wf_zygote.serve() (src/native_zygote/).
# Everything imported here is shared copy-on-write by every run, so it is
# only what every run needs (the runner's and the SDK's imports) plus common
# modules; nothing here may be secret. The call that forks never returns in
# the zygote: only each child returns, once its descriptors, limits and
# seccomp filter are in place.
import sys
import os
import gc
import builtins

import json
import linecache
import traceback
import random
import re
import math
import time
import datetime
import collections
import functools
import itertools
import string
import textwrap
import base64
import hashlib
import dataclasses
import enum
import typing

_native = len(sys.argv) > 3 and sys.argv[3] == "native"
_BRIDGE_FD = 3 if _native else 10
_CONTROL_FD = 3 if _native else 11
_runner_src = sys.argv[1]
_sdk_src = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
if _native:
    _filter = bytes.fromhex(sys.argv[4])
    _drop, _userns = sys.argv[5] == "1", sys.argv[6] == "1"
del sys.argv[1:]

# The runner's definitions, made once. Its last line starts a run, which
# here fails at once (the bridge is /dev/null in the zygote); each child
# calls _main again with its own bridge.
_runner = {"__name__": "__main__", "__builtins__": builtins}
# (In the native zygote the bridge's number is the control socket's: the
# first run reads /dev/null instead.)
sys.argv = ["-c", "0" if _native else str(_BRIDGE_FD)]
try:
    exec(compile(_runner_src, "<string>", "exec", dont_inherit=True), _runner)
except BaseException:
    pass
if not callable(_runner.get("_main")):
    raise SystemExit("the runner defines no _main")

# The built-in SDK is compiled and executed once: its classes and functions
# are what every run would make again (a third of a trivial run's time in
# the guest). The server leaves "sdk" out of the requests of this zygote's
# runs (src/sandbox/sandbox.h), and each gets this module with its own
# bridge functions put into its `_wf_bridge` (filled by the runner). A
# replacement (SDK_PATH) is not given here: it arrives in every request.
if _sdk_src is not None:
    _sdk_code = compile(_sdk_src, "platform_sdk.py", "exec", dont_inherit=True)
    _bridge_slot = _runner["_BridgeModule"]("_wf_bridge")
    sys.modules["_wf_bridge"] = _bridge_slot
    _sdk_mod = type(sys)("platform_sdk")
    _sdk_mod.__file__ = "platform_sdk.py"
    _sdk_mod.__builtins__ = builtins
    exec(_sdk_code, _sdk_mod.__dict__)
    del sys.modules["_wf_bridge"]
    _runner["_preloaded_sdk"] = (_sdk_mod, _bridge_slot, _sdk_src)

if _native:
    import importlib.machinery
    import importlib.util
    _loader = importlib.machinery.ExtensionFileLoader(
        "_wf_zygote", "/usr/lib/wasmforge/_wf_zygote.so")
    _zygote = importlib.util.module_from_spec(
        importlib.util.spec_from_loader("_wf_zygote", _loader))
    _loader.exec_module(_zygote)

# Objects made so far are never collected: the collector then leaves their
# pages alone and they stay shared between runs.
gc.collect()
gc.freeze()

if _native:
    _zygote.serve(_CONTROL_FD, _filter, _drop, _userns)
    del _zygote, _loader, _filter
else:
    os.read(_CONTROL_FD, 64)
# From here on: one run's child. Finalising the interpreter would only
# touch (and so copy) pages for nothing: a finished run just exits.
random.seed()
sys.argv = ["-c", str(_BRIDGE_FD)]
_runner["_main"]()
if _native:
    # The run's descriptors end before the process does: the server has the
    # whole result while the kernel is still taking the process apart.
    os.closerange(1, 4)
os._exit(0)
