#!/usr/bin/env bash
# Runs the concurrency tests under AddressSanitizer: the facade's `context`, `load`, `exit`
# and `op` tests and weave-exporter's unit tests, built with `-Zsanitizer=address` on the
# stable toolchain (RUSTC_BOOTSTRAP=1 lets it take the nightly flag) for the host's target
# triple, in their own target directory (`target/asan`, or ASAN_TARGET_DIR; it grows to
# several GB: remove it when done). Quiet: one line per test binary, the failures' output
# at the end. Exits non-zero if a binary fails. Not in `.ci/run` (it takes a while); its
# latest result is in docs/guarantees.md. Usage: scripts/asan.sh [extra test-binary args]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
triple="${ASAN_TARGET:-x86_64-unknown-linux-gnu}"
export RUSTC_BOOTSTRAP=1
# The standard library is not rebuilt with the sanitizer (that needs -Zbuild-std and the
# rust-src component): our code and our dependencies are instrumented, std's allocations
# are still seen through the interposed allocator.
export RUSTFLAGS="-Zsanitizer=address ${ASAN_RUSTFLAGS:-}"
export RUSTDOCFLAGS="$RUSTFLAGS"
export CARGO_TARGET_DIR="${ASAN_TARGET_DIR:-$root/target/asan}"
# Leaks are not checked (threads the SDK keeps for the process's life, thread-locals);
# a use after return is.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:detect_stack_use_after_return=1}"
export CARGO_INCREMENTAL=0
# Full debug info: with line tables only, inlined frames lose their crate path and the
# panic-traceback tests (which check that every frame is the program's) cannot tell.
unset CARGO_PROFILE_DEV_DEBUG CARGO_PROFILE_TEST_DEBUG
export RUST_BACKTRACE="${RUST_BACKTRACE:-0}"

# package and test target ("lib" for the unit tests), one per line; ASAN_RUNS gives others
# in the same form (e.g. ASAN_RUNS="weave op" for one binary).
runs="${ASAN_RUNS:-weave context
weave load
weave exit
weave op
weave-exporter lib}"

log="$(mktemp)"
failures="$(mktemp)"
trap 'rm -f "$log" "$failures"' EXIT
status=0
while read -r package target; do
    if [ "$target" = lib ]; then selector=(--lib); else selector=(--test "$target"); fi
    build=0
    cargo test --quiet --target "$triple" -p "$package" "${selector[@]}" --no-run >"$log" 2>&1 || build=$?
    if [ "$build" -ne 0 ]; then
        echo "asan: $package $target: build failed"
        cat "$log" >>"$failures"
        status=1
        continue
    fi
    run=0
    cargo test --quiet --target "$triple" -p "$package" "${selector[@]}" -- "$@" >"$log" 2>&1 || run=$?
    result="$(grep -E '^test result:' "$log" | tail -1 || true)"
    echo "asan: $package $target: ${result:-no test result} (exit status $run)"
    if [ "$run" -ne 0 ]; then
        {
            echo "==== $package $target"
            grep -E -A40 '^(failures:|---- |==[0-9]+==ERROR)' "$log" | head -200 || true
        } >>"$failures"
        status=1
    fi
done <<<"$runs"
if [ "$status" -ne 0 ]; then
    cat "$failures" >&2
fi
exit "$status"
