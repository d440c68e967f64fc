#!/usr/bin/env bash
# valgrind.sh — run every unit test program under valgrind memcheck:
# no invalid access, no use of uninitialised memory, no definite or
# indirect leak (--errors-for-leak-kinds=definite,indirect). Builds the
# tree first if needed (an ordinary build: valgrind cannot run ASan
# binaries). Prints one line per program; exits non-zero if any failed,
# with valgrind's report in $B/valgrind/<test>.log.
#
#   scripts/valgrind.sh [NAME...]     (default: every tests/unit/test_*.c)
#   MBFS_BUILD_DIR   build directory (default build)
#   MBFS_CMAKE_ARGS  extra configure arguments for a fresh build directory
#   MBFS_VALGRIND_JOBS  programs run at once (default: number of CPUs)
#   MBFS_VALGRIND_ARGS  more valgrind options (e.g. --track-origins=yes)
#   MBFS_VALGRIND_TIMEOUT  seconds one program may run (default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
B="${MBFS_BUILD_DIR:-build}"
ROOT="$(pwd)"

if ! command -v valgrind >/dev/null; then
    echo "valgrind.sh: valgrind is needed (scripts/deps-tools.sh installs it)" >&2
    exit 2
fi
if [ -f "$B/CMakeCache.txt" ] && grep -qE '^MBFS_(SANITIZE|TSAN):BOOL=ON' "$B/CMakeCache.txt"; then
    echo "valgrind.sh: $B is a sanitizer build; use an ordinary one (MBFS_BUILD_DIR=...)" >&2
    exit 2
fi
if [ ! -f "$B/CMakeCache.txt" ]; then
    # shellcheck disable=SC2086
    cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${MBFS_CMAKE_ARGS:-} >/dev/null
fi
cmake --build "$B" -j"$(nproc)" >/dev/null

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in tests/unit/test_*.c; do names+=("$(basename "$f" .c)"); done
fi

mkdir -p "$B/valgrind"
export MBFS_TEST_DATA="$ROOT/tests/data"
export MBFS_SAMPLES="$ROOT/tests/data/metabase-samples"

run_one() {
    local t="$1" log="$B/valgrind/$1.log" t0 rc=0
    t0=$(date +%s)
    # a program that hangs under valgrind fails here instead of holding CI
    timeout -k 10 "${MBFS_VALGRIND_TIMEOUT:-600}" \
    valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        --num-callers=30 ${MBFS_VALGRIND_ARGS:-} \
        --suppressions="$ROOT/tests/valgrind.supp" \
        "$B/tests/$t" >"$log.out" 2>"$log" || rc=$?
    local dt=$(( $(date +%s) - t0 ))
    if [ "$rc" -eq 0 ]; then
        printf 'valgrind %-22s ok     %4ss\n' "$t" "$dt"
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        printf 'valgrind %-22s TIMEOUT %4ss  (killed after %ss; %s)\n' \
            "$t" "$dt" "${MBFS_VALGRIND_TIMEOUT:-600}" "$log"
        return 1
    elif [ "$rc" -eq 99 ] || grep -q 'ERROR SUMMARY: [1-9]' "$log"; then
        printf 'valgrind %-22s ERRORS %4ss  %s\n' "$t" "$dt" \
            "$(grep -m1 'ERROR SUMMARY' "$log" | sed 's/^==[0-9]*== //')"
        printf '         log: %s\n' "$log"
        return 1
    else
        printf 'valgrind %-22s FAILED %4ss  (the test itself failed, exit %s; %s.out)\n' \
            "$t" "$dt" "$rc" "$log"
        return 1
    fi
}
export -f run_one
export B ROOT

printf '%s\n' "${names[@]}" |
    xargs -P "${MBFS_VALGRIND_JOBS:-$(nproc)}" -I{} bash -c 'run_one "$@"' _ {}
