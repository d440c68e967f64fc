#!/usr/bin/env bash
# deps-tools.sh — install the analysis tools of the test suite (Debian/
# Ubuntu; used by .ci/run after scripts/deps.sh):
#   clang + compiler-rt's development files (libFuzzer, the sanitizer
#   runtimes) for scripts/fuzz.sh; valgrind for scripts/valgrind.sh;
#   rclone, the peer the benchmark harness (tests/bench) compares with.
#   The ThreadSanitizer build uses gcc's libtsan, which build-essential
#   already brings (libgcc-12-dev depends on libtsan2).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if [ -z "${MBFS_APT_UPDATED:-}" ]; then
    $SUDO apt-get update -q
fi
$SUDO apt-get install -y -q --no-install-recommends \
    clang libclang-rt-dev valgrind rclone
