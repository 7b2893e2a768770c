#!/usr/bin/env bash
# Fuzzes what weave-rs reads from outside (environment values, server responses, the
# fallback file on replay) with cargo fuzz, each target for FUZZ_SECONDS (default 20).
# Installs cargo-fuzz into target/tools on first use. Exits non-zero if a target crashes;
# the crashing input is then in fuzz/artifacts/<target>/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
seconds="${FUZZ_SECONDS:-20}"
tools="$root/target/tools"
if ! [ -x "$tools/bin/cargo-fuzz" ]; then
    cargo install cargo-fuzz --version 0.13.2 --locked --root "$tools" --quiet
fi
export PATH="$tools/bin:$PATH"
# cargo fuzz asks for nightly-only flags; the stable toolchain accepts them this way.
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$root/target/fuzz"
cd "$here"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for target in env_values server_responses fallback_replay; do
    mkdir -p "corpus/$target"
    status=0
    cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    echo "fuzz: $target: ${seconds}s, $runs runs, exit status $status"
    if [ "$status" -ne 0 ]; then
        grep -E "panicked|ERROR|SUMMARY|Test unit written|error" "$log" | head -20 >&2
        echo "fuzz: $target failed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
echo "fuzz: no crash"
