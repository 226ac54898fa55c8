# zygote.py - the Python side of the WebAssembly engine's zygote: initialise
# once, then fork per run inside a WASI read and run sdk/runner.py in the child.
#
# Started as `python -I -S -B -X utf8 -u -c <this file> <runner source>`.
# Everything imported here is shared copy-on-write by every run, so it is
# only what every run needs (the runner's and the SDK's imports) plus common
# modules; nothing here may be secret. The read on the control descriptor
# never returns in the zygote: the host forks inside it and only each child
# returns, once its descriptors, limits and seccomp filter are in place.
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

_BRIDGE_FD = 10
_CONTROL_FD = 11
_runner_src = sys.argv[1]
_sdk_src = sys.argv[2] if len(sys.argv) > 2 else None
del sys.argv[1:]

# The runner's definitions, made once. Its last line starts a run, which
# here fails at once (the bridge is /dev/null in the zygote); each child
# calls _main again with its own bridge.
_runner = {"__name__": "__main__", "__builtins__": builtins}
sys.argv = ["-c", str(_BRIDGE_FD)]
try:
    exec(compile(_runner_src, "<string>", "exec", dont_inherit=True), _runner)
except BaseException:
    pass
if not callable(_runner.get("_main")):
    raise SystemExit("the runner defines no _main")

# The built-in SDK is compiled once; a replacement (SDK_PATH) arrives as
# other source and is compiled per run as usual.
if _sdk_src is not None:
    _sdk_code = compile(_sdk_src, "platform_sdk.py", "exec", dont_inherit=True)

    def _compile(source, filename, mode, flags=0, dont_inherit=False, *a, **k):
        if filename == "platform_sdk.py" and source == _sdk_src and mode == "exec":
            return _sdk_code
        return builtins.compile(source, filename, mode, flags, dont_inherit, *a, **k)

    _runner["compile"] = _compile

# Objects made so far are never collected: the collector then leaves their
# pages alone and they stay shared between runs.
gc.collect()
gc.freeze()

os.read(_CONTROL_FD, 64)
# From here on: one run's child. Finalising the interpreter would only
# touch (and so copy) pages for nothing: a finished run just exits.
random.seed()
_runner["_main"]()
os._exit(0)
