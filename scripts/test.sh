#!/usr/bin/env bash
# test.sh — build mbfs and run the whole test suite (C unit tests and the
# mount-level integration tests) under ctest. Extra arguments go to ctest,
# e.g. scripts/test.sh -L unit.
#   MBFS_BUILD_DIR   build directory (default build)
#   MBFS_CMAKE_ARGS  extra configure arguments (e.g. -DMBFS_SANITIZE=ON)
set -euo pipefail
cd "$(dirname "$0")/.."
B="${MBFS_BUILD_DIR:-build}"
# shellcheck disable=SC2086
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${MBFS_CMAKE_ARGS:-} >/dev/null
cmake --build "$B" -j"$(nproc)"
ctest --test-dir "$B" --output-on-failure -j2 "$@"
