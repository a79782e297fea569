#!/usr/bin/env bash
# Fuzzes every /proc and /sys parser with cargo-fuzz (libFuzzer), each for SECONDS (default 5)
# starting from its committed seed corpus fuzz/corpus/TARGET. New corpus entries go to
# fuzz/target/corpus/TARGET (not committed). A crash stops the run and leaves the input in
# fuzz/artifacts/TARGET/; copy it to fuzz/regressions/TARGET/ once fixed, so that plain
# `cargo test` replays it for ever (tests/hostile_fuzz_inputs.rs).
#
#   bash scripts/fuzz.sh            # every target, 5 s each (what scripts/test.sh runs)
#   bash scripts/fuzz.sh 600        # every target, 10 minutes each
#   bash scripts/fuzz.sh 60 parse_pid_stat parse_meminfo
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"
shift || true

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    # libFuzzer instrumentation needs nightly. Where no toolchain can be downloaded, say so
    # and stop: every seed and past crash is still replayed by `cargo test`
    # (tests/hostile_fuzz_inputs.rs).
    if ! rustup toolchain install nightly --profile minimal; then
        echo "fuzz: SKIPPED: no nightly toolchain and none could be installed" >&2
        exit 0
    fi
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# The parsers are safe Rust: the checks look for panics, overflow and out-of-range figures
# (debug assertions are on), which need no address sanitizer; without it the build is faster.
cargo +nightly fuzz build --sanitizer none
for t in "${targets[@]}"; do
    mkdir -p "fuzz/target/corpus/$t"
    echo "fuzz: $t for ${secs}s"
    log="fuzz/target/$t.log"
    if ! cargo +nightly fuzz run --sanitizer none "$t" "fuzz/target/corpus/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -max_len=8192 -timeout=5 >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "fuzz: $t failed; the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    grep -E '^Done ' "$log" || true
done
echo "fuzz: ${#targets[@]} targets, ${secs}s each, no crash"
