#!/usr/bin/env bash
# deps-clients.sh — install the real client programs that the `clients`
# tests (tests/clients/) drive through a mount, and the Debian packaging
# tools. Debian/Ubuntu; used by .ci/run after scripts/deps.sh.
#
#   LibreOffice (headless) and gnumeric's ssconvert; R with readr,
#   data.table, jsonlite, readxl; Debian's pandas/openpyxl; sqlite3,
#   csvkit, miller; node + npm for DuckDB (@duckdb/node-api, installed
#   by npm into $MBFS_NODE_DIR, default build/clients-node — never into the
#   source tree); dpkg-buildpackage, debhelper, lintian for packaging/.
#
# Set MBFS_SKIP_NPM=1 to skip the npm step (DuckDB tests then skip).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if [ -z "${MBFS_APT_UPDATED:-}" ]; then
    $SUDO apt-get update -q
fi
$SUDO apt-get install -y -q --no-install-recommends \
    libreoffice-calc-nogui gnumeric \
    r-base-core r-cran-readr r-cran-data.table r-cran-jsonlite r-cran-readxl \
    python3-pandas python3-openpyxl \
    sqlite3 csvkit miller \
    dpkg-dev debhelper lintian fakeroot man-db
# node and npm: the machine's own when present (a NodeSource nodejs bundles
# npm and conflicts with Debian's npm package), Debian's otherwise.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi

if [ "${MBFS_SKIP_NPM:-0}" != 1 ]; then
    NODE_DIR="${MBFS_NODE_DIR:-build/clients-node}"
    mkdir -p "$NODE_DIR"
    cp tests/clients/package.json "$NODE_DIR/package.json"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error)
fi
