#!/usr/bin/env bash
# build-python.sh - builds the sandbox's CPython 3.11 for wasm32-wasi from Debian's source package.
# Output (cached by a hash of every input): python.wasm, stdlib.tar, stdlib-tests.tar (the same plus
# CPython's test package), logs/; the last stdout line is the output dir.
#
# Steps: fetch Debian's upstream tarballs (python3.11, zlib), build a native "build python" (cached on
# its own), cross-build zlib and CPython with clang-19 + wasi-libc, shrink with wasm-opt, then pack the
# guest's file tree (/usr/lib/python3.11 with precompiled .pyc, /usr/share/zoneinfo) into a ustar archive.
# Environment: WF_CACHE (default ~/.cache/wasmforge), WF_JOBS (default 2; the machine is shared).
set -euo pipefail
# The body is one block: bash reads it whole before running it, so editing this file while a
# build runs cannot change what that build does.
{

PY_VERSION=3.11.2
PY_ORIG_SHA256=2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
PY_SUITE=bookworm
# 3.11.2's release day: the build date CPython embeds (sys.version), so that builds are reproducible.
PY_RELEASE_EPOCH=1675814400
CACHE=${WF_CACHE:-$HOME/.cache/wasmforge}
JOBS=${WF_JOBS:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
SCRIPT="$HERE/$(basename "$0")"
PATCHES="$HERE/patches"

WASI_CC=clang-19
WASI_AR=llvm-ar-19
WASI_RANLIB=llvm-ranlib-19
# -flto: wasm-ld optimises the interpreter as one program, inlining across CPython's files (the eval loop
# into the object, number and string helpers it calls): 5-10% less CPU on bench/engine_bench.py's CPU-bound
# workloads (docs/engine-performance.md). That final link runs on one core and needs about 5 GB of memory.
WASI_CFLAGS="-O2 -flto -Wno-error=int-conversion"
WASI_LDFLAGS="-flto"
NATIVE_CONFIGURE="--without-ensurepip"
CROSS_CONFIGURE="--prefix=/usr --disable-test-modules --without-ensurepip --with-pymalloc"
WASM_OPT_FLAGS="-O2 --strip-dwarf"
# Guest-side stdlib parts that cannot work without threads, native extensions, processes or a
# display, or that only exist for developing CPython itself.
STDLIB_EXCLUDE=(test idlelib tkinter turtledemo turtle.py ensurepip lib2to3 distutils venv
    ctypes sqlite3 unittest/test site-packages __phello__ msilib _bootsubprocess.py)

STEP="start"
LOGDIR=""
fail() {
    echo "build-python: step '$STEP' failed: $*" >&2
    [ -n "$LOGDIR" ] && echo "build-python: logs in $LOGDIR" >&2
    exit 1
}
trap 'fail "command exited with status $? (line $LINENO)"' ERR
step() { STEP=$1; echo "build-python: $STEP" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || fail "missing tool '$1' (run: make deps)"; }
sha() { sha256sum "$@" | cut -d' ' -f1; }
# run LOG CMD...: run a build command with its output in LOG; on failure show the log's tail.
run() {
    local log=$1; shift
    if ! "$@" >>"$log" 2>&1; then
        tail -n 40 "$log" >&2
        fail "'$*' failed, full log: $log"
    fi
}

for t in $WASI_CC $WASI_AR $WASI_RANLIB wasm-opt apt-get gcc make tar sha256sum; do need "$t"; done
[ -d /usr/include/wasm32-wasi ] || fail "wasi-libc headers missing (package wasi-libc)"
[ -f /usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a ] ||
    fail "compiler-rt for wasm32 missing (package libclang-rt-19-dev-wasm32)"

# ---------------------------------------------------------------------------------------------------
step "fetch sources"
SRC="$CACHE/sources"
mkdir -p "$SRC"
py_orig="$SRC/python3.11_${PY_VERSION}.orig.tar.gz"
have_zlib() { compgen -G "$SRC/zlib_*.orig.tar.*" >/dev/null; }
if [ ! -f "$py_orig" ] || ! have_zlib; then
    # Source packages come from the same mirrors as the binaries (either apt sources format).
    bash "$HERE/../deb-src.sh" || fail "could not add deb-src entries for apt-get source"
    dl=$(mktemp -d "$SRC/.dl.XXXXXX")
    # The main suite's revision, not the security suite's (whose .dsc was unreachable); only the
    # upstream tarballs are used, so a failure after they arrived is not fatal.
    (cd "$dl" && apt-get source --download-only "python3.11/$PY_SUITE" "zlib/$PY_SUITE" >"$dl/apt.log" 2>&1) ||
        echo "build-python: apt-get source reported an error; checking what arrived" >&2
    [ -f "$dl/python3.11_${PY_VERSION}.orig.tar.gz" ] || { cat "$dl/apt.log" >&2; fail "python3.11 tarball not downloaded"; }
    compgen -G "$dl/zlib_*.orig.tar.*" >/dev/null || { cat "$dl/apt.log" >&2; fail "zlib tarball not downloaded"; }
    mv "$dl"/python3.11_*.orig.tar.gz "$dl"/zlib_*.orig.tar.* "$SRC/"
    rm -rf "$dl"
fi
[ "$(sha "$py_orig")" = "$PY_ORIG_SHA256" ] || fail "$py_orig has an unexpected sha256 (expected $PY_ORIG_SHA256)"
zlib_orig=$(compgen -G "$SRC/zlib_*.orig.tar.*" | sort | tail -n1)
zlib_sha=$(sha "$zlib_orig")

# ---------------------------------------------------------------------------------------------------
# The native build python: same CPython version, needed to freeze modules during the cross build and to
# compile the guest's .pyc files. Cached on its own so that changing the wasm recipe does not rebuild it.
step "native build python"
native_key=$(printf '%s\n' "$PY_ORIG_SHA256" "$NATIVE_CONFIGURE" "$(gcc --version | head -n1)" "native-v1" | sha)
NATIVE="$CACHE/python-native/$native_key"
if [ ! -x "$NATIVE/build/python" ]; then
    mkdir -p "$CACHE/python-native"
    tmp=$(mktemp -d "$CACHE/python-native/.tmp.XXXXXX")
    LOGDIR="$tmp/logs"; mkdir -p "$LOGDIR"
    t0=$SECONDS
    tar -xzf "$py_orig" -C "$tmp" && mv "$tmp/Python-$PY_VERSION" "$tmp/src"
    mkdir "$tmp/build"
    # Relative srcdir: the tree keeps working after the rename into the cache.
    (cd "$tmp/build" && run "$LOGDIR/configure.log" ../src/configure $NATIVE_CONFIGURE)
    (cd "$tmp/build" && run "$LOGDIR/make.log" make -j"$JOBS")
    echo "native build python: $((SECONDS - t0)) s" >"$LOGDIR/time.txt"
    "$tmp/build/python" -c 'import sys; assert sys.version_info[:2] == (3, 11)' || fail "native python does not run"
    mv -T "$tmp" "$NATIVE" 2>/dev/null || rm -rf "$tmp"   # another build won the race: keep theirs
    LOGDIR=""
fi
BUILD_PY="$NATIVE/build/python"

# ---------------------------------------------------------------------------------------------------
step "hash inputs"
patch_sum=$(cat /dev/null $(compgen -G "$PATCHES/*.patch" | sort) | sha)
tz_version=$(dpkg-query -W -f='${Version}' tzdata 2>/dev/null || echo none)
key=$(printf '%s\n' "$PY_ORIG_SHA256" "$zlib_sha" "$(sha "$SCRIPT")" "$patch_sum" \
    "$($WASI_CC --version | head -n1)" "$(wasm-opt --version)" "$(dpkg-query -W -f='${Version}' wasi-libc)" \
    "$WASI_CFLAGS" "$WASI_LDFLAGS" "$CROSS_CONFIGURE" "$WASM_OPT_FLAGS" "$native_key" "tzdata $tz_version" | sha)
OUT="$CACHE/python-wasm/$key"
if [ -f "$OUT/python.wasm" ] && [ -f "$OUT/stdlib.tar" ] && [ -f "$OUT/stdlib-tests.tar" ]; then
    echo "$OUT"
    exit 0
fi
mkdir -p "$CACHE/python-wasm"
W=$(mktemp -d "$CACHE/python-wasm/.tmp.XXXXXX")
LOGDIR="$W/logs"; mkdir -p "$LOGDIR"
cleanup() { if [ -n "${W:-}" ] && [ -d "$W" ]; then rm -rf "$W"; fi; }
trap cleanup EXIT
T_START=$SECONDS
timing() { echo "$1: $2 s" >>"$LOGDIR/time.txt"; }

# clang looks for <sysroot>/include/wasm32-wasi and <sysroot>/lib/wasm32-wasi; Debian's wasi-libc puts
# those directly under /usr, and --sysroot=/usr would drag in the host's headers, so build a sysroot of links.
step "wasi sysroot"
SYSROOT="$W/sysroot"
mkdir -p "$SYSROOT/include" "$SYSROOT/lib"
ln -s /usr/include/wasm32-wasi "$SYSROOT/include/wasm32-wasi"
ln -s /usr/lib/wasm32-wasi "$SYSROOT/lib/wasm32-wasi"
CC_WASI="$WASI_CC --target=wasm32-wasi --sysroot=$SYSROOT"

step "zlib for wasm32-wasi"
t0=$SECONDS
mkdir "$W/zlib-src" "$W/zlib"
tar -xf "$zlib_orig" -C "$W/zlib-src" --strip-components=1
# zlib's configure probes for shared libraries and the host; compiling the library files directly is
# simpler and does not depend on its probing. These are the files of libz.a.
(
    cd "$W/zlib-src"
    objs=()
    for f in adler32 crc32 deflate infback inffast inflate inftrees trees zutil compress uncompr gzclose gzlib gzread gzwrite; do
        run "$LOGDIR/zlib.log" $CC_WASI -O2 -D_LARGEFILE64_SOURCE=1 -DHAVE_HIDDEN -c "$f.c" -o "$f.o"
        objs+=("$f.o")
    done
    run "$LOGDIR/zlib.log" $WASI_AR rcs "$W/zlib/libz.a" "${objs[@]}"
    cp zlib.h zconf.h "$W/zlib/"
)
timing "zlib" $((SECONDS - t0))

step "unpack CPython"
mkdir "$W/cpython" "$W/cross"
tar -xzf "$py_orig" -C "$W/cpython" --strip-components=1
for p in $(compgen -G "$PATCHES/*.patch" | sort); do
    run "$LOGDIR/patch.log" patch -d "$W/cpython" -p1 -i "$p"
done

step "configure CPython for wasm32-wasi"
t0=$SECONDS
mkdir -p "$W/cross/Modules" && : >"$W/cross/Modules/Setup.local"
(
    cd "$W/cross"
    # PKG_CONFIG_LIBDIR points at nothing so that no host library (sqlite, ffi, ssl ...) is picked up.
    # configure finds the float word order by searching a compiled object for a marker string, which an
    # LTO object (LLVM bitcode) does not hold: it is given (wasm32 is little-endian; the same answer as
    # without LTO, and pyconfig.h is identical).
    run "$LOGDIR/configure.log" env \
        CONFIG_SITE="$W/cpython/Tools/wasm/config.site-wasm32-wasi" \
        CC="$CC_WASI" CPP="$CC_WASI -E" AR="$WASI_AR" RANLIB="$WASI_RANLIB" \
        CFLAGS="$WASI_CFLAGS -ffile-prefix-map=$W=/build" LDFLAGS="$WASI_LDFLAGS" \
        ax_cv_c_float_words_bigendian=no SOURCE_DATE_EPOCH="$PY_RELEASE_EPOCH" \
        ZLIB_CFLAGS="-I$W/zlib" ZLIB_LIBS="-L$W/zlib -lz" \
        PKG_CONFIG_PATH="" PKG_CONFIG_LIBDIR="$W/no-pkgconfig" \
        ../cpython/configure --host=wasm32-unknown-wasi --build="$(../cpython/config.guess)" \
        --with-build-python="$BUILD_PY" $CROSS_CONFIGURE
)
timing "configure" $((SECONDS - t0))

step "build CPython for wasm32-wasi"
t0=$SECONDS
(cd "$W/cross" && run "$LOGDIR/make.log" env SOURCE_DATE_EPOCH="$PY_RELEASE_EPOCH" make -j"$JOBS")
[ -f "$W/cross/python.wasm" ] || fail "make finished but python.wasm is missing"
timing "make" $((SECONDS - t0))
# configure's verdict per optional module (yes, missing, disabled, n/a) for docs/engine-build.md.
sed -n 's/^MODULE_\([A-Z0-9_]*\)_STATE=\(.*\)$/\1 \2/p' "$W/cross/Makefile" | tr 'A-Z' 'a-z' >"$LOGDIR/module-states.txt"

step "wasm-opt"
t0=$SECONDS
# BINARYEN_CORES: wasm-opt would otherwise use every core of a shared machine.
run "$LOGDIR/wasm-opt.log" env BINARYEN_CORES="$JOBS" wasm-opt $WASM_OPT_FLAGS "$W/cross/python.wasm" -o "$W/python.wasm"
timing "wasm-opt" $((SECONDS - t0))
echo "python.wasm bytes before wasm-opt: $(stat -c %s "$W/cross/python.wasm")" >>"$LOGDIR/time.txt"
echo "python.wasm bytes after wasm-opt: $(stat -c %s "$W/python.wasm")" >>"$LOGDIR/time.txt"

# ---------------------------------------------------------------------------------------------------
step "guest file tree"
t0=$SECONDS
ROOT="$W/root"
LIB="$ROOT/usr/lib/python3.11"
mkdir -p "$LIB/lib-dynload" "$LIB/site-packages" "$ROOT/usr/share" "$ROOT/tmp"
excl=()
for e in "${STDLIB_EXCLUDE[@]}"; do excl+=(--exclude="./$e"); done
tar -C "$W/cpython/Lib" "${excl[@]}" --exclude='__pycache__' -cf - . | tar -C "$LIB" -xf -
sysconf=$(compgen -G "$W/cross/build/lib.wasi-wasm32-3.11/_sysconfigdata_*.py" | head -n1) ||
    fail "no _sysconfigdata in the cross build"
cp "$sysconf" "$LIB/"
# The guest's zoneinfo: Debian's tzdata, symlinks resolved so the image holds only files and folders.
# Not right/ (leap-second variants) nor posix/ (duplicates), nor the host's own localtime; a dangling
# link is skipped rather than failing the build.
if [ -d /usr/share/zoneinfo ]; then
    mkdir "$ROOT/usr/share/zoneinfo"
    (cd /usr/share/zoneinfo &&
        find -L . \( -path ./right -o -path ./posix -o -path ./localtime \) -prune -o -type f -print |
        LC_ALL=C sort | tar --dereference --hard-dereference -cf - -T -) | tar -C "$ROOT/usr/share/zoneinfo" -xf -
    [ -f "$ROOT/usr/share/zoneinfo/UTC" ] || fail "copying /usr/share/zoneinfo"
else
    echo "build-python: /usr/share/zoneinfo missing (package tzdata); zoneinfo will not find zones" >&2
fi

step "compile .pyc"
# The guest cannot write .pyc files (its /usr is read-only), so ship them. Unchecked hashes: the .pyc
# is used without looking at the .py's mtime, and the archive is reproducible.
run "$LOGDIR/compileall.log" "$BUILD_PY" -E -Wi -m compileall -q -j"$JOBS" \
    --invalidation-mode unchecked-hash -d /usr/lib/python3.11 \
    -x 'bad_coding|badsyntax' "$LIB"
timing "stdlib tree + compileall" $((SECONDS - t0))

# Only regular files and folders: the guest's VFS knows no links (--hard-dereference).
pack() {
    tar -C "$ROOT" --format=ustar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
        --hard-dereference -cf "$1" usr tmp
}
step "stdlib.tar"
pack "$W/stdlib.tar"

# The same tree plus CPython's own test package, for running its test modules inside the sandbox
# (what of the stdlib works there). Some test data files are invalid Python on purpose, so a
# compileall failure here is logged, not fatal.
step "stdlib-tests.tar"
t0=$SECONDS
tar -C "$W/cpython/Lib" --exclude='__pycache__' -cf - test | tar -C "$LIB" -xf -
"$BUILD_PY" -E -Wi -m compileall -q -j"$JOBS" --invalidation-mode unchecked-hash -d /usr/lib/python3.11/test \
    -x 'bad_coding|badsyntax|test_lib2to3/data' "$LIB/test" >"$LOGDIR/compileall-tests.log" 2>&1 || true
pack "$W/stdlib-tests.tar"
timing "stdlib-tests.tar" $((SECONDS - t0))
cp "$W/cross/pyconfig.h" "$LOGDIR/pyconfig.h"

echo "total: $((SECONDS - T_START)) s" >>"$LOGDIR/time.txt"
rm -rf "$W/cpython" "$W/cross" "$W/zlib-src" "$W/zlib" "$W/sysroot" "$ROOT"
LOGDIR="$OUT/logs"
chmod 755 "$W"
if ! mv -T "$W" "$OUT" 2>/dev/null; then
    # Another build finished first; its result is equivalent.
    [ -f "$OUT/python.wasm" ] || fail "could not move the result into $OUT"
    rm -rf "$W"
fi
W=""
echo "$OUT"
exit 0
}
