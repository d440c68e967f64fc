#!/usr/bin/env bash
# build-deb.sh — build the Debian package from this tree and check it with
# lintian. The tree (git's files, committed or not) is copied to a
# temporary directory first, because dpkg-buildpackage writes its output
# next to the source tree; the .deb ends up in $MBFS_DEB_DIR (default
# build/deb/). Needs dpkg-dev, debhelper, lintian, fakeroot and the build
# dependencies of debian/control (scripts/deps.sh, scripts/deps-clients.sh).
#   scripts/build-deb.sh            build + lintian (fails on lintian errors)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="$(pwd)"
OUT="${MBFS_DEB_DIR:-$SRC/build/deb}"
VERSION="$(dpkg-parsechangelog -S Version)"
WORK="$(mktemp -d /tmp/mbfs-deb.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

TREE="$WORK/mbfs-$VERSION"
mkdir -p "$TREE"
git ls-files -z --cached --others --exclude-standard | \
    (while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) | \
    tar -C "$SRC" --null -T - -cf - | tar -C "$TREE" -xf -
# the unit tests read recorded Metabase responses from ../shared
if [ -d "$SRC/../shared" ]; then ln -s "$SRC/../shared" "$WORK/shared"; fi

(cd "$TREE" && dpkg-buildpackage -us -uc -b)

mkdir -p "$OUT"
rm -f "$OUT"/mbfs_*.deb "$OUT"/mbfs-dbgsym_*.deb
cp "$WORK"/*.deb "$OUT"/
CHANGES="$(ls "$WORK"/*.changes)"
echo "== lintian"
# errors fail the build; warnings are printed
lintian --fail-on error --no-tag-display-limit "$CHANGES"
ls -l "$OUT"/*.deb
