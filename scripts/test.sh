#!/usr/bin/env bash
# Runs every test usetop has, on a fresh machine: installs what the tests need, then checks
# formatting and lints, then runs unit, fixture, snapshot and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
command -v pidstat >/dev/null 2>&1 || need_apt+=(sysstat)  # disknet_live, sysstat_live: iostat, pidstat, mpstat
# tests/prometheus.rs: promtool and a real Prometheus server scraping `usetop serve`.
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "scripts/test.sh: please install: ${need_apt[*]}" >&2
        exit 1
    fi
fi
if ! command -v cargo >/dev/null 2>&1; then
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    . "$HOME/.cargo/env"
fi

export CI="${CI:-true}"   # insta: never write snapshots here, fail on a difference
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo build --release --locked
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --locked 2>&1 | tee "$log"
# Every /proc and /sys parser fuzzed for a few seconds (longer: bash scripts/fuzz.sh 600).
FUZZ_RUNS=2000000 bash scripts/fuzz.sh 8
# One closing line for the whole run (cargo's last line is the empty doc-test binary's).
awk '/^test result:/ {p += $4; f += $6} END {printf "tests: %d passed, %d failed\n", p, f}' "$log"
