#!/usr/bin/env bash
# check-fresh.sh - the quick start on a machine that has never seen the project (`make check-fresh`).
#
# Builds a minimal Debian 12 root with mmdebstrap (its apt sources in the one-line format
# /etc/apt/sources.list, as debootstrap writes them), copies a clean clone of HEAD into it and,
# inside it (pivot_root in new mount and PID namespaces, with /proc, /dev and a tmpfs /tmp), runs the
# README's first command, `make run`, with empty engine caches until /health answers; then stops
# it. Prints how long each step took. Needs root (mmdebstrap, mounts, chroot).
#
# The root trusts the same certificate authorities and uses the same npm settings as this machine
# (/usr/local/share/ca-certificates/, /etc/npmrc): those belong to the machine's network, not to
# the project. .deb downloads are cached in WF_FRESH_DEBS (default ~/.cache/wasmforge/fresh-debs)
# so a second check does not download them again; nothing else is kept.
#
# With WF_FRESH_TEST=1 it then runs the README's second command, `make test`, in the same root with
# CI=true (so a suite that cannot run there, the browser tests among them, fails instead of
# skipping) and ends with its summary line and exit status.
#
# Environment: WF_FRESH_DIR (where the root is made; default /var/tmp), WF_FRESH_KEEP=1 (keep the
# root afterwards), WF_FRESH_TIMEOUT (seconds `make run` may take to serve; default 3600),
# WF_FRESH_TEST=1 (run `make test` too), WF_FRESH_MIRROR (default: the Debian mirror this machine's
# apt uses, else http://deb.debian.org/debian).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "check-fresh: needs root (mmdebstrap, mount, chroot)" >&2; exit 2; }
command -v mmdebstrap >/dev/null || { echo "check-fresh: mmdebstrap is missing (run: make deps)" >&2; exit 2; }

# The mirror: the one this machine's apt uses for Debian's main archive (a machine may only reach
# its own mirror or proxy), else Debian's.
host_mirror() {
    { grep -hE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
      grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
          | sed -E 's/\[[^]]*\]//' | awk '{print $2}'
    } | grep -E '/debian/?$' | head -n1 || true
}
mirror=${WF_FRESH_MIRROR:-$(host_mirror)}
mirror=${mirror:-http://deb.debian.org/debian}
debs=${WF_FRESH_DEBS:-$HOME/.cache/wasmforge/fresh-debs}
timeout=${WF_FRESH_TIMEOUT:-3600}
mkdir -p "$debs" "${WF_FRESH_DIR:-/var/tmp}"
work=$(mktemp -d "${WF_FRESH_DIR:-/var/tmp}/wf-fresh-XXXXXX")
root=$work/root
log=$work/make-run.log
pid=""

cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        # SIGKILL: `unshare --fork` ignores SIGTERM while it waits for its child;
        # --kill-child then takes the whole PID namespace with it.
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [ "${WF_FRESH_KEEP:-0}" = 1 ]; then
        echo "check-fresh: root kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 143' INT TERM   # so a stopped check still ends its namespace and removes its root

t_all=$(date +%s)
t_step=$t_all
done_step() {
    local now; now=$(date +%s)
    printf 'check-fresh: %-40s %4d s  (total %d min %02d s)\n' "$1" $((now - t_step)) \
        $(((now - t_all) / 60)) $(((now - t_all) % 60))
    t_step=$now
}

# 1. The root: Debian 12's minimal base, plus make (the README's first command needs it) and
#    ca-certificates. A one-line sources.list with the main suite only, as debootstrap writes it.
#    The host's apt settings about Release file dates are kept (mirrors served from snapshots).
aptopts=()
for f in /etc/apt/apt.conf.d/*; do
    [ -f "$f" ] || continue
    while IFS= read -r line; do aptopts+=(--aptopt="$line"); done \
        < <(grep -hE '^Acquire::Check-(Valid-Until|Date)' "$f" || true)
done
mmdebstrap --quiet --variant=minbase --include=make,ca-certificates "${aptopts[@]}" \
    --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
    --setup-hook="sync-in $debs /var/cache/apt/archives" \
    --customize-hook="sync-out /var/cache/apt/archives $debs" \
    bookworm "$root" "deb $mirror bookworm main"
test -s "$root/etc/apt/sources.list"
if compgen -G "$root/etc/apt/sources.list.d/*.sources" >/dev/null; then
    echo "check-fresh: the root has deb822 sources; expected the one-line format only" >&2
    exit 1
fi
done_step "Debian 12 root (mmdebstrap)"

# 2. A clean clone of HEAD (what is committed, nothing from the working tree or build folders).
git clone --quiet --no-local "$here" "$root/root/wasmforge"
git -C "$root/root/wasmforge" checkout --quiet "$(git -C "$here" rev-parse HEAD)"
done_step "clone of $(git -C "$here" rev-parse --short HEAD)"

# 3. This machine's certificate authorities and npm settings; name resolution.
if [ -d /usr/local/share/ca-certificates ]; then
    cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
[ -f /etc/npmrc ] && cp /etc/npmrc "$root/etc/npmrc"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" update-ca-certificates >/dev/null
done_step "certificates, npm settings"

# 4. `make run` inside the root, with the packages cache kept outside it. New mount and PID
#    namespaces: every process of the run ends with the namespace's first one.
mkdir -p "$root/var/cache/apt/archives"
# in_root CMD: runs CMD (a shell command) in the clone inside the root, in the background; $pid.
in_root() {
    # pivot_root, not chroot: in a chroot the kernel refuses new user namespaces and "/" is no
    # mount point, so the native sandbox could not confine its runs there and the hostile suites
    # (rightly) failed. The root becomes its own mount and the namespace's "/"; the machine's
    # file system is unmounted from under it.
    local inner='mount --bind "$R" "$R" && mount -t proc proc "$R/proc" &&
       mount -t tmpfs -o mode=1777 tmpfs "$R/tmp" && mount --rbind /dev "$R/dev" &&
       mount --bind "$DEBS" "$R/var/cache/apt/archives" &&
       cd "$R" && mkdir -p .old-root && pivot_root . .old-root &&
       exec /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PORT=0 $ENVS \
            sh -c "umount -l /.old-root && rmdir /.old-root && cd /root/wasmforge && exec $CMD"'
    R=$root DEBS=$debs CMD=$1 ENVS=${2:-} unshare --mount --propagation private --pid --kill-child -- \
        sh -c "$inner" </dev/null >"$3" 2>&1 &
    pid=$!
}
in_root "make run" "" "$log"
url=""
shown=0
deadline=$(($(date +%s) + timeout))
while :; do
    # Progress lines of `make run` as they come (the full log stays in the work folder).
    n=$(wc -l <"$log")
    if [ "$n" -gt "$shown" ]; then
        sed -n "$((shown + 1)),${n}p" "$log" | grep -E '^(step [0-9]+ of [0-9]+|deps:|build-python:)' \
            | sed 's/^/  | /' || true
        shown=$n
    fi
    if [ -z "$url" ]; then
        url=$(grep -oE 'listening on http://[0-9.]+:[0-9]+' "$log" | head -n1 | sed 's/^listening on //' || true)
    fi
    if [ -n "$url" ] && /usr/bin/python3 -c 'import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1] + "/health", timeout=5).status == 200 else 1)' "$url" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "check-fresh: \`make run\` ended before /health answered; its last lines:" >&2
        tail -n 40 "$log" >&2
        WF_FRESH_KEEP=1
        exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "check-fresh: no /health after ${timeout} s; the last lines:" >&2
        tail -n 40 "$log" >&2
        WF_FRESH_KEEP=1
        exit 1
    fi
    sleep 2
done
done_step "make run until /health answers ($url)"

# 5. Stop it: unshare goes (SIGKILL: it ignores SIGTERM while it waits), and with
# --kill-child the namespace's first process and every process in it with it.
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
pid=""
done_step "stop"
now=$(date +%s)
echo "check-fresh: ok, $(((now - t_all) / 60)) min $(((now - t_all) % 60)) s from nothing to /health"
[ "${WF_FRESH_TEST:-0}" = 1 ] || exit 0

# 6. The README's second command in the same root, as CI runs it. /tmp is a new tmpfs.
tlog=$work/make-test.log
in_root "make test" "CI=true" "$tlog"
status=0
wait "$pid" || status=$?
pid=""
done_step "make test (CI=true)"
grep -E '^(python suites|Failures:|  build|[0-9]+ passed)' "$tlog" | sed 's/^/  | /' || true
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$tlog" | tail -n1 || true)
if [ "$status" -ne 0 ] || [ -z "$summary" ]; then
    echo "check-fresh: \`make test\` failed in the root (exit $status); its last lines:" >&2
    tail -n 60 "$tlog" >&2
    WF_FRESH_KEEP=1
    exit 1
fi
echo "check-fresh: make test in the root: $summary"
