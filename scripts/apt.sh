#!/usr/bin/env bash
# apt.sh - apt-get for the project's scripts, one at a time: `bash scripts/apt.sh update -qq`.
#
# `make run` builds the web interface beside the engine, so two of our scripts may want apt at once
# (web-tools.sh installing npm while build-python.sh's deb-src.sh updates the lists), and apt refuses
# a second caller ("Could not get lock /var/lib/apt/lists/lock") instead of waiting. Our callers
# queue on one lock file; a foreign apt (an upgrade in progress) is waited for up to 10 minutes
# through apt's own dpkg lock timeout. Runs apt-get as root, with sudo when needed.
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
exec $sudo flock /run/lock/wasmforge-apt.lock apt-get -o DPkg::Lock::Timeout=600 "$@"
