#!/usr/bin/env bash
# ci-trixie.sh — build and test mbfs on Debian 13 (trixie) as well as on
# the Debian 12 host: a debootstrap chroot (the mirror is the first
# Debian archive URI of this machine's own apt sources, read at run time;
# none is written in the repository), with /dev (so /dev/fuse), /dev/pts,
# /proc and /sys bound in; the build and test dependencies installed
# inside (scripts/deps.sh, plus git and the packaging tools); a build with
# warnings as errors against trixie's libfuse (3.17: kernel passthrough);
# ctest without the real-client tests (-LE clients); and the .deb built
# there and checked by lintian (scripts/build-deb.sh). Every mount made
# here (and any FUSE mount a test left inside the chroot) is undone on
# exit, failure or not; the chroot is removed unless it was given.
#
# Needs root (debootstrap, chroot, bind mounts; the passthrough test needs
# a root daemon anyway). Used by .ci/run.
#   MBFS_TRIXIE_ROOT    use this chroot directory (made when empty or
#                       absent; kept afterwards) instead of a fresh one
#   MBFS_TRIXIE_MIRROR  the archive to use instead of the apt sources'
#   MBFS_TRIXIE_CTEST   ctest arguments (default: -LE clients)
#   MBFS_TRIXIE_BENCH   bench.py arguments (default: --quick --only exports)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="$(pwd)"
SUITE=trixie
T0=$(date +%s)
say() { echo "== trixie [$(( $(date +%s) - T0 )) s] $*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "ci-trixie.sh: needs root (debootstrap, chroot, bind mounts)" >&2
    exit 1
fi

# The first Debian archive of this machine's apt sources (deb822 .sources
# files, then the one-line format), e.g. http://deb.debian.org/debian —
# not the security archive, not a third-party repository.
apt_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i !~ /=/) { print $i; break } }' "$f"
    done
}
MIRROR="${MBFS_TRIXIE_MIRROR:-}"
if [ -z "$MIRROR" ]; then
    MIRROR="$(apt_mirror | grep -E '^(https?|file)://[^ ]*/debian/?$' | head -n1 || true)"
fi
if [ -z "$MIRROR" ]; then
    echo "ci-trixie.sh: no Debian archive in /etc/apt/sources.list{,.d/*} (set MBFS_TRIXIE_MIRROR)" >&2
    exit 1
fi
MIRROR="${MIRROR%/}"

KEEP_ROOT=0
if [ -n "${MBFS_TRIXIE_ROOT:-}" ]; then
    ROOT="$MBFS_TRIXIE_ROOT"
    KEEP_ROOT=1
    mkdir -p "$ROOT"
else
    ROOT="$(mktemp -d /var/tmp/mbfs-trixie.XXXXXX)"
fi
ROOT="$(cd "$ROOT" && pwd -P)"
# it becomes the chroot's /: mktemp made it 0700, and the tests that run
# as another user (setpriv --reuid, the allow_other checks) must reach
# /usr and the build directory through it
chmod 0755 "$ROOT"

# Mount points at or below $ROOT, deepest first (from /proc/self/mountinfo;
# octal escapes such as \040 decoded).
mounts_below() {
    awk -v r="$ROOT" '{ p = $5; gsub(/\\040/, " ", p); if (p == r || index(p, r "/") == 1) print length(p) "\t" p }' \
        /proc/self/mountinfo | sort -rn | cut -f2-
}
# Processes running inside the chroot (all started here): ended first.
chroot_pids() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && echo "${p#/proc/}"
    done
}
cleanup() {
    local rc=$? p sig
    set +e
    for sig in TERM KILL; do
        p="$(chroot_pids)"
        [ -n "$p" ] || break
        # shellcheck disable=SC2086
        kill -s "$sig" $p 2>/dev/null
        sleep 2
    done
    # test mounts left inside (FUSE), then ours, deepest first
    for _ in 1 2 3; do

        while IFS= read -r p; do
            [ -n "$p" ] || continue
            umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null
        done < <(mounts_below)
        [ -z "$(mounts_below)" ] && break
        sleep 1
    done
    if [ -n "$(mounts_below)" ]; then
        echo "ci-trixie.sh: still mounted below $ROOT:" >&2
        mounts_below >&2
        [ "$rc" -ne 0 ] || rc=1
    elif [ "$KEEP_ROOT" = 0 ]; then
        rm -rf --one-file-system "$ROOT"
    fi
    say "done (exit $rc)"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "debootstrap $SUITE from $MIRROR into $ROOT"
if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
    if ! command -v debootstrap >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
    fi
    debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$ROOT" "$MIRROR" \
        > "$ROOT.debootstrap.log" 2>&1 || { tail -n 30 "$ROOT.debootstrap.log" >&2; rm -f "$ROOT.debootstrap.log"; exit 1; }
    rm -f "$ROOT.debootstrap.log"
fi

say "bind /dev, /dev/pts, /proc, /sys"
mkdir -p "$ROOT/dev" "$ROOT/proc" "$ROOT/sys" "$ROOT/run"
mount --bind /dev "$ROOT/dev"
mount --bind /dev/pts "$ROOT/dev/pts"
mount -t proc proc "$ROOT/proc"
mount --bind /sys "$ROOT/sys"
mount -t tmpfs -o mode=0755 tmpfs "$ROOT/run"
[ -e "$ROOT/dev/fuse" ] || { echo "ci-trixie.sh: no /dev/fuse" >&2; exit 1; }
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true

# the tree as build-deb.sh takes it: git's files, committed or not
say "copy the source tree"
rm -rf "$ROOT/src/mbfs"
mkdir -p "$ROOT/src/mbfs"
git ls-files -z --cached --others --exclude-standard | \
    (while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) | \
    tar -C "$SRC" --null -T - -cf - | tar -C "$ROOT/src/mbfs" -xf -

# Run a command in the chroot (in the background and waited for, so that
# a signal to this script ends the run at once through the trap).
inside() {
    chroot "$ROOT" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive "$@" &
    wait $!
}

say "dependencies (scripts/deps.sh, git, packaging tools)"
inside /bin/sh -c 'cd /src/mbfs && scripts/deps.sh >/tmp/deps.log 2>&1 || { tail -n 40 /tmp/deps.log; exit 1; }'
inside apt-get install -y -q --no-install-recommends \
    git dpkg-dev debhelper lintian fakeroot >/dev/null
inside /bin/sh -c 'pkg-config --modversion fuse3 | sed "s/^/libfuse /"; uname -r'
# build-deb.sh lists the tree with git: make the copy a repository of its own
inside /bin/sh -c 'cd /src/mbfs && git init -q && git add -A'

say "build (warnings as errors) and ctest ${MBFS_TRIXIE_CTEST:--LE clients}"
# shellcheck disable=SC2086
inside /bin/sh -c "cd /src/mbfs && MBFS_BUILD_DIR=build-trixie MBFS_CMAKE_ARGS=-DMBFS_WERROR=ON \
    scripts/test.sh ${MBFS_TRIXIE_CTEST:--LE clients}"

# The export rows of the benchmark harness where kernel passthrough is
# on (a root daemon, libfuse 3.17): printed for the log, never a gate.
say "benchmark, export rows (bench.py ${MBFS_TRIXIE_BENCH:---quick --only exports})"
# shellcheck disable=SC2086
inside /bin/sh -c "cd /src/mbfs && MBFS_BIN=build-trixie/mbfs MBFS_FLOORFS=build-trixie/tests/floorfs \
    /usr/bin/python3 tests/bench/bench.py ${MBFS_TRIXIE_BENCH:---quick --only exports}" || \
    say "benchmark failed (not a gate)"

say "Debian package: build and lintian"
inside /bin/sh -c 'cd /src/mbfs && MBFS_DEB_DIR=/src/deb scripts/build-deb.sh'
