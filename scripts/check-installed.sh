#!/usr/bin/env bash
# check-installed.sh — install the .deb that scripts/build-deb.sh made and
# use it as a user would: man mbfs, mbfs --version, the demo mounted by
# the installed /usr/bin/mbfs, an fstab line through mount(8), the systemd
# unit checked by systemd-analyze. Used by .ci/run; needs root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
DEB="$(ls "${MBFS_DEB_DIR:-build/deb}"/mbfs_*.deb)"

echo "== install $DEB"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$(realpath "$DEB")"
test "$(command -v mbfs)" = /usr/bin/mbfs
mbfs --version

echo "== man mbfs"
man -w mbfs
MANWIDTH=80 man mbfs 2>/dev/null | col -b > /tmp/mbfs-man.txt
grep -q "mbfs - mount a Metabase instance as a filesystem" /tmp/mbfs-man.txt
grep -q "log_level=LEVEL" /tmp/mbfs-man.txt
head -12 /tmp/mbfs-man.txt

echo "== the demo, mounted by the installed mbfs"
export MBFS_DEMO_DIR="${MBFS_DEMO_DIR:-/tmp/mbfs-demo-installed}"
MBFS_DEMO_BIN=/usr/bin/mbfs scripts/demo.sh
MNT="$MBFS_DEMO_DIR/mnt"
ok=1
grep -q "fuse.mbfs" /proc/self/mountinfo || ok=0
ls "$MNT/collections" | grep -qx Sales || ok=0
head -c 200 "$MNT/databases/Sample Database/PUBLIC/ORDERS.csv" | head -1 | grep -q '^ID,' || ok=0
grep -q "^server" "$MNT/.mbfs/status" || ok=0
scripts/demo.sh stop
[ "$ok" = 1 ] || { echo "the installed mbfs did not serve the demo"; exit 1; }

echo "== fstab line through mount(8) with the installed mbfs"
MBFS_BIN=/usr/bin/mbfs MBFS_SYSTEM_MOUNT_REQUIRED=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    tests/integration/test_mount.py -k "fstab"

echo "== systemd unit"
UNIT=/usr/lib/systemd/system/mbfs@.service
test -f "$UNIT"
if command -v systemd-analyze >/dev/null; then
    # an instance name, and no man lookup (the check runs without a manual db)
    tmp="$(mktemp -d)"
    sed '/^Documentation=/d' "$UNIT" > "$tmp/mbfs@ci.service"
    out="$(systemd-analyze verify "$tmp/mbfs@ci.service" 2>&1 || true)"
    rm -rf "$tmp"
    echo "$out"
    if echo "$out" | grep -v "ConditionPathExists\|Failed to prepare\|System has not been booted" | grep -q .; then
        echo "systemd-analyze verify reported problems"; exit 1
    fi
fi
echo "installed package OK"
