#!/usr/bin/env bash
# wasi-run - runs any wasm32-wasi (preview1) module on the WasmForge WASI host.
# Translates the module with wasm2c (scripts/wasm/wasm2native.sh), links it
# with the host library into one executable cached next to the translation
# (keyed by the module's hash and the host library's), then executes it.
#
# usage: wasi-run [--dir HOST_DIR::GUEST_DIR[:ro]] [--env K=V] [--stdin FILE]
#                 [--image TAR] [--tmp-bytes N] [--tmp-inodes N]
#                 [--max-pages N] [--stdout-cap N] [--no-vfs]
#                 module.wasm [args...]
# Exit status: the module's; 125 when it trapped; 2 on a usage or build error.
set -euo pipefail

ROOT='@ROOT@'
BUILD='@BUILD@'
CC='@CC@'
SANFLAGS='@SANFLAGS@'
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/wasmforge/native"

die() { echo "wasi-run: $*" >&2; exit 2; }

opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --no-vfs) opts+=("$1"); shift ;;
        --dir|--env|--stdin|--image|--tmp-bytes|--tmp-inodes|--max-pages|--stdout-cap)
            [ $# -ge 2 ] || die "$1 needs a value"
            opts+=("$1" "$2"); shift 2 ;;
        --) shift; break ;;
        -*) die "unknown option $1" ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || die "usage: wasi-run [options] module.wasm [args...]"
module=$1
shift
[ -f "$module" ] || die "$module: no such file"

# The translated module: the shared translator when the tree has it, else
# the same steps here (wasm2c -n mod, compiled into module.a beside mod.h).
translate() {
    local hash dir tmp
    if [ -x "$ROOT/scripts/wasm/wasm2native.sh" ]; then
        "$ROOT/scripts/wasm/wasm2native.sh" "$1" | tail -n 1
        return
    fi
    hash=$(cat "$1" <(echo "w2c ${WF_W2C_CFLAGS:-}") | sha256sum | cut -c1-32)
    dir="$CACHE/$hash"
    if [ ! -f "$dir/module.a" ]; then
        mkdir -p "$CACHE"
        tmp=$(mktemp -d "$CACHE/.tmp.XXXXXX")
        wasm2c -n mod "$1" -o "$tmp/mod.c" >&2
        # shellcheck disable=SC2086
        cc -O2 -w -I/usr/share/wabt/wasm2c ${WF_W2C_CFLAGS:-} -c "$tmp/mod.c" -o "$tmp/mod.o"
        ar rcs "$tmp/module.a" "$tmp/mod.o"
        rm -f "$tmp/mod.c" "$tmp/mod.o"
        mkdir -p "$dir"
        mv "$tmp/mod.h" "$dir/mod.h"
        mv "$tmp/module.a" "$dir/module.a"
        rmdir "$tmp"
    fi
    echo "$dir"
}

dir=$(translate "$module") || die "translation of $module failed"
[ -f "$dir/module.a" ] && [ -f "$dir/mod.h" ] || die "translation of $module left no module.a in $dir"

libhash=$(cat "$BUILD/libwfwasi.a" "$BUILD/obj/src/wasi/wasi_run_main.o" \
              "$ROOT/src/wasi/wasi_module_glue.c" <(echo "$CC $SANFLAGS") | sha256sum | cut -c1-16)
exe="$dir/run-$libhash"
if [ ! -x "$exe" ]; then
    tmp=$(mktemp "$dir/.run.XXXXXX")
    # shellcheck disable=SC2086
    "$CC" -std=c17 -O2 $SANFLAGS -I"$dir" -I"$ROOT/src" -I/usr/share/wabt/wasm2c \
        -c "$ROOT/src/wasi/wasi_module_glue.c" -o "$tmp.glue.o"
    # shellcheck disable=SC2086
    "$CC" $SANFLAGS "$tmp.glue.o" "$BUILD/obj/src/wasi/wasi_run_main.o" "$dir/module.a" \
        "$BUILD/libwfwasi.a" -lm -lpthread -o "$tmp"
    rm -f "$tmp.glue.o"
    mv "$tmp" "$exe"
fi
exec "$exe" "${opts[@]}" -- "$(basename "$module" .wasm)" "$@"
