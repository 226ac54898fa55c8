#!/usr/bin/env bash
# deps.sh - installs the Debian packages WasmForge needs, only those missing.
# Package lists live in scripts/deps/*.txt, one name a line (# comments).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
want=$(cat "$here"/deps/*.txt | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=()
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
bash "$(dirname "$0")/apt.sh" update -qq
bash "$(dirname "$0")/apt.sh" install -y -qq --no-install-recommends "${missing[@]}"
