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
# FUZZ_RUNS=N makes each target a fixed campaign: N runs from seed 1 (capped at SECONDS), the
# same inputs on every machine. The test command uses it, so CI replays a campaign already
# run here instead of exploring (and failing on whatever it happens to find that day).
limits=(-max_total_time="$secs")
if [ -n "${FUZZ_RUNS:-}" ]; then
    limits+=(-runs="$FUZZ_RUNS" -seed=1)
fi
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
    out="fuzz/target/corpus/$t"
    if [ -n "${FUZZ_RUNS:-}" ]; then
        # A fixed campaign starts from the committed corpus alone, whatever earlier runs found.
        out="fuzz/target/campaign/$t"
        rm -rf "$out"
    fi
    mkdir -p "$out"
    echo "fuzz: $t for ${secs}s${FUZZ_RUNS:+ or $FUZZ_RUNS runs}"
    log="fuzz/target/$t.log"
    if ! cargo +nightly fuzz run --sanitizer none "$t" "$out" "fuzz/corpus/$t" -- \
        "${limits[@]}" -max_len=8192 -timeout=5 >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "fuzz: $t failed; the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    grep -E '^Done ' "$log" || true
done
echo "fuzz: ${#targets[@]} targets, ${secs}s each, no crash"
