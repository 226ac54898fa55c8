#!/usr/bin/env bash
# wasm2native.sh - compiles any wasm32-wasi module to native code through wasm2c, cached.
# Output: <cache>/module.a and mod.h (module name always "mod"); the last stdout line is that folder.
#
# Usage: wasm2native.sh MODULE.wasm
# Environment: WF_W2C_PART_BYTES  bytes of generated C per compiled part (default 4000000)
#              WF_W2C_CFLAGS  extra compiler flags; they must match what the host's wasm-rt-impl.c is
#                             built with (e.g. -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0). Part of the cache key.
#              WF_CACHE       cache root (default ~/.cache/wasmforge)
#              WF_JOBS        parallel compile jobs (default 2; the machine is shared)
# The cache folder is ~/.cache/wasmforge/native/<sha256 of module, these scripts, wasm2c and gcc
# versions, flags>; it is built in a temporary folder and renamed into place, so it is complete or absent.
set -euo pipefail
# The body is one block: bash reads it whole before running it, so editing this file while a
# build runs cannot change what that build does.
{

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${WF_CACHE:-$HOME/.cache/wasmforge}
JOBS=${WF_JOBS:-2}
CC=${WF_W2C_CC:-gcc}
BASE_CFLAGS="-O2"
EXTRA_CFLAGS=${WF_W2C_CFLAGS:-}
# About 4 MB of C per part: gcc's time and memory grow faster than linearly with file size.
PART_BYTES=${WF_W2C_PART_BYTES:-4000000}

STEP="start"
W=""
fail() { echo "wasm2native: step '$STEP' failed: $*" >&2; exit 1; }
trap 'fail "command exited with status $? (line $LINENO)"' ERR
cleanup() { if [ -n "$W" ] && [ -d "$W" ]; then rm -rf "$W"; fi; }
trap cleanup EXIT

[ $# -eq 1 ] || { echo "usage: wasm2native.sh MODULE.wasm" >&2; exit 2; }
MODULE=$1

STEP="check inputs"
[ -f "$MODULE" ] || fail "$MODULE: no such file"
[ "$(head -c 4 "$MODULE" | od -An -tx1 | tr -d ' \n')" = "0061736d" ] || fail "$MODULE: not a wasm binary"
for t in wasm2c "$CC" ar /usr/bin/python3 sha256sum; do
    command -v "$t" >/dev/null 2>&1 || fail "missing tool '$t' (run: make deps)"
done
[ -f /usr/include/wasm-rt.h ] || fail "missing /usr/include/wasm-rt.h (package wabt)"

STEP="hash inputs"
key=$( {
    sha256sum <"$MODULE"
    sha256sum <"$HERE/wasm2native.sh"
    sha256sum <"$HERE/w2c_split.py"
    sha256sum </usr/include/wasm-rt.h
    wasm2c --version
    "$CC" --version | head -n1
    echo "$BASE_CFLAGS | $EXTRA_CFLAGS | $PART_BYTES"
} | sha256sum | cut -d' ' -f1)
OUT="$CACHE/native/$key"
if [ -f "$OUT/module.a" ] && [ -f "$OUT/mod.h" ]; then
    echo "$OUT"
    exit 0
fi
mkdir -p "$CACHE/native"
W=$(mktemp -d "$CACHE/native/.tmp.XXXXXX")
mkdir "$W/src"
log="$W/build.log"
t_start=$SECONDS

STEP="wasm2c"
t0=$SECONDS
if ! wasm2c -n mod "$MODULE" -o "$W/src/mod.c" >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    fail "wasm2c could not translate $MODULE"
fi
c_bytes=$(stat -c %s "$W/src/mod.c")
echo "wasm2c: $((SECONDS - t0)) s, mod.c $c_bytes bytes" >>"$log"

STEP="split"
parts=$(( (c_bytes + PART_BYTES - 1) / PART_BYTES ))
nfuncs=$(/usr/bin/python3 "$HERE/w2c_split.py" "$W/src/mod.c" "$W/src" "$parts" 2>>"$log") ||
    { tail -n 5 "$log" >&2; fail "could not split the generated C"; }
cp "$W/src/mod.h" "$W/mod.h"
rm "$W/src/mod.c"
echo "split: $nfuncs functions into $parts parts + mod_0.c" >>"$log"

STEP="compile"
t0=$SECONDS
# Largest parts first so the two workers finish together; exit 255 makes xargs stop at the first failure.
ls -S "$W"/src/mod_*.c >"$W/order"
# shellcheck disable=SC2016
if ! xargs -P "$JOBS" -I{} sh -c '"$1" $2 -I"$3" -c "$4" -o "${4%.c}.o" >"${4%.c}.log" 2>&1 || { echo "compile failed: $4" >&2; cat "${4%.c}.log" >&2; exit 255; }' \
        _ "$CC" "$BASE_CFLAGS $EXTRA_CFLAGS" "$W/src" {} <"$W/order" 2>>"$log"; then
    grep -A20 'compile failed' "$log" | head -n 40 >&2
    fail "gcc could not compile the generated C (log: $log)"
fi
echo "compile: $((SECONDS - t0)) s with $JOBS jobs, flags: $BASE_CFLAGS $EXTRA_CFLAGS" >>"$log"

STEP="archive"
rm -f "$W/module.a"
ar rcs "$W/module.a" "$W"/src/mod_*.o
echo "$BASE_CFLAGS $EXTRA_CFLAGS" >"$W/cflags.txt"
echo "total: $((SECONDS - t_start)) s" >>"$log"
cat "$W"/src/mod_*.log >>"$log"
rm -rf "$W/src" "$W/order"

STEP="publish"
chmod 755 "$W"
if ! mv -T "$W" "$OUT" 2>/dev/null; then
    # Another build finished first; its result is equivalent.
    [ -f "$OUT/module.a" ] || fail "could not rename $W to $OUT"
    rm -rf "$W"
fi
W=""
echo "$OUT"
exit 0
}
