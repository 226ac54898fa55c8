#!/usr/bin/env bash
# engine-for - the WebAssembly engine for another WASI build of Python
# (WASM_PYTHON_PATH, WASM_PYTHON_DIR): translated and compiled on first use,
# linked with this build's host and zygote, cached by the hash of all inputs.
#
# usage: wf-engine-for PYTHON.wasm|- LIB_DIR|-     ("-": the built-in one)
# The last stdout line is a folder with wf-engine and engine/stdlib.tar, the
# layout the server expects beside itself. LIB_DIR's contents become the
# guest's "/" (so it holds usr/lib/python3.11/... or whatever prefix that
# Python was built with). Errors: one line on stderr saying what is wrong,
# exit status 1.
set -euo pipefail

ROOT='@ROOT@'
BUILD='@BUILD@'
CC='@CC@'
SANFLAGS='@SANFLAGS@'
CACHE=${WF_CACHE:-$HOME/.cache/wasmforge}

die() { echo "$*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: wf-engine-for PYTHON.wasm|- LIB_DIR|-"
wasm=$1
dir=$2

exe="$BUILD/wf-engine"
if [ "$wasm" != - ]; then
    [ -f "$wasm" ] || die "WASM_PYTHON_PATH: $wasm: no such file"
    [ "$(head -c 4 "$wasm" | od -An -tx1 | tr -d ' \n')" = "0061736d" ] ||
        die "WASM_PYTHON_PATH: $wasm is not a WebAssembly module"
    # Every import must be one the WASI host provides.
    have=$(grep -o 'IMPORT([a-z_]*)' "$ROOT/src/wasi/wasi_imports.c" | sed 's/IMPORT(\(.*\))/\1/' | sort -u)
    imports=$(wasm-objdump -x -j Import "$wasm" 2>/dev/null | sed -n 's/.* <- \([^ ]*\)$/\1/p') ||
        die "WASM_PYTHON_PATH: $wasm cannot be read as a WebAssembly module"
    missing=""
    for imp in $imports; do
        mod=${imp%%.*}
        fn=${imp#*.}
        if [ "$mod" != wasi_snapshot_preview1 ] || ! grep -qx "$fn" <<<"$have"; then
            missing="$missing $imp"
        fi
    done
    [ -z "$missing" ] ||
        die "WASM_PYTHON_PATH: $wasm imports what the WASI host does not provide:$missing"
    grep -q '_start' <(wasm-objdump -x -j Export "$wasm" 2>/dev/null) ||
        die "WASM_PYTHON_PATH: $wasm exports no _start (not a WASI command)"

    echo "wf-engine-for: translating and compiling $wasm (first use: minutes)" >&2
    moddir=$("$ROOT/scripts/wasm/wasm2native.sh" "$wasm" | tail -n 1) ||
        die "WASM_PYTHON_PATH: compiling $wasm failed (see the lines above)"
    objs=("$BUILD"/obj/src/engine/*.o "$BUILD/obj/src/sandbox/zygote_serve.o"
          "$BUILD/obj/src/sandbox/child_harden.o" "$BUILD/obj/gen/embed_zygote.o")
    libhash=$(cat "$BUILD/libwfwasi.a" "${objs[@]}" "$ROOT/src/wasi/wasi_module_glue.c" \
                  <(echo "$CC $SANFLAGS") | sha256sum | cut -c1-16)
    exe="$moddir/engine-$libhash"
    if [ ! -x "$exe" ]; then
        tmp=$(mktemp "$moddir/.engine.XXXXXX")
        # shellcheck disable=SC2086
        if ! "$CC" -std=c17 -O2 $SANFLAGS -D_GNU_SOURCE -DWASM_RT_SKIP_SIGNAL_RECOVERY=1 \
                -DWASM_RT_USE_STACK_DEPTH_COUNT=1 -I"$moddir" -I"$ROOT/src" -I/usr/share/wabt/wasm2c \
                -c "$ROOT/src/wasi/wasi_module_glue.c" -o "$tmp.glue.o" >&2 ||
           ! "$CC" $SANFLAGS "$tmp.glue.o" "${objs[@]}" "$moddir/module.a" "$BUILD/libwfwasi.a" \
                -lseccomp -lm -lpthread -o "$tmp" >&2; then
            rm -f "$tmp" "$tmp.glue.o"
            die "WASM_PYTHON_PATH: linking $wasm with the WASI host failed (see the lines above)"
        fi
        rm -f "$tmp.glue.o"
        mv "$tmp" "$exe"
    fi
fi

image="$BUILD/engine/stdlib.tar"
if [ "$dir" != - ]; then
    [ -d "$dir" ] || die "WASM_PYTHON_DIR: $dir: no such folder"
    key=$(cd "$dir" && find . -printf '%P %y %s %T@ %l\n' | LC_ALL=C sort | sha256sum | cut -c1-32)
    image="$CACHE/python-dir/$key/stdlib.tar"
    if [ ! -f "$image" ]; then
        mkdir -p "$CACHE/python-dir"
        tmp=$(mktemp -d "$CACHE/python-dir/.tmp.XXXXXX")
        (cd "$dir" && find . -mindepth 1 -maxdepth 1 -printf '%P\0' |
             tar --null -T - -cf "$tmp/stdlib.tar") 2>"$tmp/err" || {
            err=$(tail -n 1 "$tmp/err"); rm -rf "$tmp"
            die "WASM_PYTHON_DIR: $dir cannot be packed: $err"; }
        mkdir -p "$(dirname "$image")"
        mv "$tmp/stdlib.tar" "$image"
        rm -rf "$tmp"
    fi
fi

out="$CACHE/engines/$(echo "$exe $image" | sha256sum | cut -c1-32)"
if [ ! -e "$out/wf-engine" ] || [ ! -e "$out/engine/stdlib.tar" ]; then
    mkdir -p "$out/engine"
    ln -sfn "$exe" "$out/wf-engine"
    ln -sfn "$image" "$out/engine/stdlib.tar"
fi
echo "$out"
