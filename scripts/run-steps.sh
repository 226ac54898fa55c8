#!/usr/bin/env bash
# run-steps.sh - what `make run` does before it serves: each slow part of the build as one numbered
# step ("step N of M: what, elapsed"), so a first run (about 10-15 minutes: Debian packages, CPython
# for WebAssembly, its translation to C) shows that it is moving, and a second run says that it
# uses the cache. While a step is quiet a line repeats every WF_PROGRESS_EVERY seconds (default 60)
# with the step's current phase. The make output itself passes through unchanged.
#
# Environment (from the Makefile): MAKE, BUILD, PYWASM_STAMP, ENGINE_MODULE_STAMP.
set -euo pipefail
cd "$(dirname "$0")/.."

make_cmd=${MAKE:-make}
build=${BUILD:-build}
every=${WF_PROGRESS_EVERY:-60}
cache=${WF_CACHE:-$HOME/.cache/wasmforge}

# what it is | said once when it starts | make target | files up to date when it has nothing to do
steps=(
    "Debian packages|those scripts/deps/*.txt name that are missing|deps|"
    "CPython 3.11 for WebAssembly|about 8-10 minutes the first time, then cached in $cache|python-wasm|${PYWASM_STAMP:-}"
    "its translation to C (wasm2c) and compilation|about 3-5 minutes the first time, then cached|engine-module|${ENGINE_MODULE_STAMP:-}"
    "the server||server|$build/wasmforge $build/wf-native-zygote.so"
    "the sandbox engine (wf-engine)||wasm-engine|$build/wf-engine $build/engine/stdlib.tar"
    "the web interface|npm and Vite|web|$build/web/index.html"
    "the rest of \`make all\`||all|"
)
total=${#steps[@]}
t0=$SECONDS
state=$(mktemp)
web_log=$(mktemp)
web_pid=""
trap 'rm -f "$state" "$web_log"; [ -z "$web_pid" ] || kill "$web_pid" 2>/dev/null || true' EXIT

web_step() { local i; for i in "${!steps[@]}"; do case "${steps[$i]}" in *"|web|"*) echo $((i + 1)) ;; esac; done; }
human() { local s=$1; if [ "$s" -ge 60 ]; then printf '%d min %02d s' $((s / 60)) $((s % 60)); else printf '%d s' "$s"; fi; }

n=0
cached=0
for s in "${steps[@]}"; do
    IFS='|' read -r what note target files <<<"$s"
    n=$((n + 1))
    label="step $n of $total: $what"
    if [ "$target" = web ] && [ -n "$web_pid" ]; then
        # Built beside the engine (below): its output and outcome now.
        status=0
        wait "$web_pid" || status=$?
        web_pid=""
        cat "$web_log"
        if [ "$status" -ne 0 ]; then
            echo "$label: failed (the lines above say why)" >&2
            exit "$status"
        fi
        echo "$label: done beside the engine build"
        continue
    fi
    if [ -n "$files" ] && $make_cmd -q --no-print-directory $files 2>/dev/null; then
        echo "$label: up to date, nothing to build"
        cached=$((cached + 1))
        continue
    fi
    echo "$label${note:+ ($note)}, $(human $((SECONDS - t0))) elapsed"
    ts=$SECONDS
    : >"$state"
    # The heartbeat: the current phase (build-python's and wasm2native's own step lines) and the time.
    (
        while sleep "$every"; do
            phase=$(cat "$state" 2>/dev/null || true)
            echo "$label${phase:+: $phase}, $(human $((SECONDS - ts))) in this step, $(human $((SECONDS - t0))) elapsed"
        done
    ) &
    beat=$!
    status=0
    $make_cmd --no-print-directory "$target" 2>&1 | while IFS= read -r line; do
        printf '%s\n' "$line"
        case "$line" in
            build-python:*|wasm2native:*) printf '%s' "${line#*: }" >"$state" ;;
        esac
    done || status=$?
    kill "$beat" 2>/dev/null || true
    wait "$beat" 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        echo "$label: failed after $(human $((SECONDS - ts))) (the lines above say why)" >&2
        exit "$status"
    fi
    took=$((SECONDS - ts))
    # The engine's products: a cache folder made before this step began was reused, not built.
    note=""
    for stamp in ${files}; do
        case "$stamp" in *.path)
            dir=$(cat "$stamp" 2>/dev/null || true)
            if [ -n "$dir" ] && [ -d "$dir" ] && [ "$(stat -c %Y "$dir")" -lt "$(($(date +%s) - took))" ]; then
                note=", from the cache $dir"
                cached=$((cached + 1))
            fi ;;
        esac
    done
    echo "$label: done in $(human "$took")$note"
    # Once the packages are there, the web interface (npm's downloads and Vite: about 1.5 minutes,
    # mostly waiting on the network) is built beside the engine's long build, on its own files.
    if [ "$target" = deps ] && ! $make_cmd -q --no-print-directory "$build/web/index.html" 2>/dev/null; then
        ws=$(web_step)
        echo "step $ws of $total: the web interface: building beside the next steps"
        $make_cmd --no-print-directory web >"$web_log" 2>&1 &
        web_pid=$!
    fi
done
if [ "$cached" -ge 2 ]; then
    echo "make run: ready after $(human $((SECONDS - t0))); the engine came from the cache ($cache), only what changed was rebuilt"
else
    echo "make run: ready after $(human $((SECONDS - t0)))"
fi
