#!/usr/bin/env bash
# deb-src.sh - makes `apt-get source` work: adds deb-src entries for the suites the machine already
# installs binaries from, in the format the machine uses, unless some deb-src entry exists.
#
# Debian keeps its sources in one of two formats: deb822 files (/etc/apt/sources.list.d/*.sources,
# what cloud images and Debian 12's own installer write) or one-line entries (/etc/apt/sources.list,
# what debootstrap, mmdebstrap and older installs write). Each `deb` entry gets a `deb-src` twin in
# a file of our own, so the machine's own files are never edited.
set -euo pipefail

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
lists=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)

if grep -qsE '^[[:space:]]*(Types:.*deb-src|deb-src[[:space:]])' "${lists[@]}"; then
    exit 0
fi

added=0
# deb822: every stanza whose Types names deb, with Types rewritten (other fields kept as they are).
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case "$f" in *wasmforge-deb-src*) continue ;; esac
    out=/etc/apt/sources.list.d/wasmforge-deb-src-$(basename "$f")
    if grep -qE '^Types:.*\bdeb\b' "$f"; then
        sed -E 's/^Types:.*$/Types: deb-src/' "$f" | $sudo tee "$out" >/dev/null
        added=1
    fi
done
# one-line: every `deb [options] URI suite components` line, as `deb-src`.
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    case "$f" in *wasmforge-deb-src*) continue ;; esac
    lines=$(grep -E '^[[:space:]]*deb[[:space:]]' "$f" | sed -E 's/^[[:space:]]*deb[[:space:]]/deb-src /' || true)
    if [ -n "$lines" ]; then
        printf '%s\n' "$lines" | $sudo tee -a /etc/apt/sources.list.d/wasmforge-deb-src.list >/dev/null
        added=1
    fi
done
[ "$added" -eq 1 ] || { echo "deb-src: no deb entry in /etc/apt/sources.list or sources.list.d to copy" >&2; exit 1; }
bash "$(dirname "$0")/apt.sh" update -qq
