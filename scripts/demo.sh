#!/usr/bin/env bash
# demo.sh — build mbfs, start the bundled demo Metabase (the fake server with
# its sample data) and mount it.
#
#   scripts/demo.sh          install deps, build, start, mount
#   scripts/demo.sh stop     unmount and stop the demo server
#
# Everything lives under $MBFS_DEMO_DIR (default /tmp/mbfs-demo): the mount
# point mnt/, the server's pid and log, and mbfs's cache.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${MBFS_DEMO_DIR:-/tmp/mbfs-demo}"
MNT="$DIR/mnt"

stop() {
    if mountpoint -q "$MNT" 2>/dev/null; then fusermount3 -u "$MNT"; fi
    if [ -f "$DIR/server.pid" ]; then
        kill "$(cat "$DIR/server.pid")" 2>/dev/null || true
        rm -f "$DIR/server.pid"
    fi
}

if [ "${1:-}" = "stop" ]; then
    stop
    echo "demo stopped"
    exit 0
fi

# MBFS_DEMO_BIN: an mbfs to use as it is (e.g. the installed /usr/bin/mbfs)
BIN="${MBFS_DEMO_BIN:-build/mbfs}"
if [ -z "${MBFS_DEMO_BIN:-}" ]; then
    scripts/deps.sh
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$(nproc)"
fi

stop
mkdir -p "$MNT"
/usr/bin/python3 tests/fake_metabase/fake_metabase.py --port 0 \
    >"$DIR/server.out" 2>"$DIR/server.log" &
echo $! >"$DIR/server.pid"
for _ in $(seq 100); do
    grep -q LISTENING "$DIR/server.out" 2>/dev/null && break
    sleep 0.1
done
URL=$(awk '/^LISTENING/ {print $2}' "$DIR/server.out")
[ -n "$URL" ] || { echo "demo server did not start; see $DIR/server.log"; exit 1; }

MBFS_USERNAME=admin@example.com MBFS_PASSWORD=mbfs-demo-pass \
XDG_CACHE_HOME="$DIR/cache" \
    "$BIN" "$URL" "$MNT"

cat <<MSG

The demo Metabase ($URL) is mounted on $MNT. Try:

  ls $MNT
  ls "$MNT/collections/Sales"
  head "$MNT/databases/Sample Database/PUBLIC/ORDERS.csv"
  getfattr -d "$MNT/collections/Sales/Revenue.csv"
  cat $MNT/.mbfs/status

Unmount and stop the demo server with:  scripts/demo.sh stop
MSG
