#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer targets (tests/fuzz/fuzz_*.c, clang,
# -fsanitize=fuzzer,address,undefined) if needed and run each one for
# SECONDS (default 30), starting from its seed corpus in
# tests/fuzz/corpus/<target>/. Prints one line per target; exits non-zero
# if any target crashed, leaked, hit undefined behaviour or broke one of
# its invariants. The failing input is kept as
# $B/fuzz-artifacts/<target>/crash-* (replay: $B/tests/fuzz/fuzz_<target> FILE).
#
#   scripts/fuzz.sh [SECONDS]
#   MBFS_FUZZ_BUILD_DIR  build directory (default build-fuzz)
#   MBFS_FUZZ_TARGETS    space-separated subset, e.g. "mb_json verify"
#
# New inputs the fuzzer finds go to $B/fuzz-corpus/<target>/ (not into the
# repository): the committed seeds stay small; to refresh them run
# tests/fuzz/make_corpus.py.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-30}"
B="${MBFS_FUZZ_BUILD_DIR:-build-fuzz}"
ROOT="$(pwd)"

if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang is needed (scripts/deps-tools.sh installs it)" >&2
    exit 2
fi
if [ ! -f "$B/CMakeCache.txt" ]; then
    CC=clang cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMBFS_FUZZ=ON \
        -DMBFS_INTEGRATION=OFF >/dev/null
fi
if ! cmake --build "$B" -j"$(nproc)" --target fuzz >"$B/fuzz-build.log" 2>&1; then
    cat "$B/fuzz-build.log" >&2
    exit 2
fi

targets="${MBFS_FUZZ_TARGETS:-}"
if [ -z "$targets" ]; then
    for f in tests/fuzz/fuzz_*.c; do
        t="$(basename "$f" .c)"
        targets="$targets ${t#fuzz_}"
    done
fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$ROOT/tests/fuzz/lsan.supp:print_suppressions=0"

failed=0
for t in $targets; do
    bin="$B/tests/fuzz/fuzz_$t"
    seeds=()
    if [ -d "tests/fuzz/corpus/$t" ]; then seeds=("tests/fuzz/corpus/$t"); fi
    work="$B/fuzz-corpus/$t"
    art="$B/fuzz-artifacts/$t"
    log="$B/fuzz-$t.log"
    mkdir -p "$work" "$art"
    t0=$(date +%s)
    rc=0
    # the options target makes its own HOME under TMPDIR: keep it here
    scratch="$(cd "$B" && pwd)/fuzz-tmp/$t"
    rm -rf "$scratch" && mkdir -p "$scratch"
    TMPDIR="$scratch" "$bin" -max_total_time="$SECS" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$art/" "$work" "${seeds[@]}" >"$log" 2>&1 || rc=$?
    rm -rf "$scratch"
    dt=$(( $(date +%s) - t0 ))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
    if [ "$rc" -eq 0 ]; then
        printf 'fuzz %-16s ok     %5ss %10s runs  cov %s\n' "$t" "$dt" "${runs:-?}" "${cov:-?}"
    else
        failed=1
        crash=$(ls -t "$art" 2>/dev/null | head -1)
        why=$(grep -m1 -E 'ERROR: |fuzz invariant failed|runtime error' "$log" || echo "exit $rc")
        printf 'fuzz %-16s FAILED %5ss  %s\n' "$t" "$dt" "$why"
        printf '     input: %s  log: %s\n' "${crash:+$art/$crash}" "$log"
        tail -n 60 "$log" | sed 's/^/     | /' >&2
    fi
done
exit "$failed"
