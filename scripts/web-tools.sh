#!/usr/bin/env bash
# web-tools.sh - makes sure node and npm are on PATH to build the web UI:
# whatever Node.js the machine has is used; Debian's is installed when none is.
set -euo pipefail
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    exit 0
fi
echo "web-tools: installing Debian's nodejs and npm"
bash "$(dirname "$0")/apt.sh" update -qq
bash "$(dirname "$0")/apt.sh" install -y -qq --no-install-recommends nodejs npm
