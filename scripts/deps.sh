#!/usr/bin/env bash
# deps.sh — install what building and testing mbfs needs (Debian/Ubuntu).
# Used by the README's quick start and by .ci/run. vim and nano: the
# integration tests save queries/<database>/NAME.sql files with both.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    build-essential cmake pkg-config \
    libfuse3-dev fuse3 libcurl4-openssl-dev libjson-c-dev \
    python3 python3-pytest curl attr rsync ca-certificates \
    vim nano
