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
# tests/tcptrace_live.rs: nftables drops segments in a network namespace (no sch_netem here).
command -v nft >/dev/null 2>&1 || need_apt+=(nftables)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)  # tcptrace_live: ip netns
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)  # the unprivileged live tests
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
# Every test target runs even when one fails. A target that failed is run once more: the
# live tests measure a real kernel beside real tools on a shared machine, and one that
# passes on the second run is reported as flaky by name (a deterministic failure fails
# twice and fails the run).
status=0
cargo test --locked --no-fail-fast 2>&1 | tee "$log" || status=$?
if [ "$status" -ne 0 ]; then
    # One failed target: "error: test failed, to rerun pass `--test X`"; several: "error: N
    # targets failed:" and then each on its own line.
    mapfile -t failed < <(sed -n -e 's/^error: test failed, to rerun pass `\(.*\)`$/\1/p' \
        -e 's/^    `\(--[a-z].*\)`$/\1/p' "$log" | sort -u)
    mapfile -t failed_names < <(sed -n 's/^---- \(.*\) stdout ----$/\1/p' "$log")
    if [ ${#failed[@]} -eq 0 ] || ! grep -q '^test result: FAILED' "$log"; then
        echo "scripts/test.sh: the tests did not build or run" >&2
        exit "$status"
    fi
    echo "scripts/test.sh: running the failed targets once more: ${failed[*]}" >&2
    retry_log=$(mktemp)
    for target in "${failed[@]}"; do
        # shellcheck disable=SC2086  # a target is one or two words: --test NAME, --lib
        if ! cargo test --locked $target 2>&1 | tee -a "$retry_log"; then
            rm -f "$retry_log"
            echo "scripts/test.sh: $target failed twice" >&2
            exit 1
        fi
    done
    rm -f "$retry_log"
    echo "FLAKY (failed once, passed when run again): ${failed_names[*]}"
    # Count them as passed: take their first failure out of the tally below.
    sed -i 's/^test result: FAILED\. \([0-9]*\) passed; \([0-9]*\) failed/test result: ok. \1 passed; 0 failed; \2 flaky/' "$log"
fi
# Every /proc and /sys parser fuzzed for a few seconds (longer: bash scripts/fuzz.sh 600).
FUZZ_RUNS=2000000 bash scripts/fuzz.sh 5
# One closing line for the whole run (cargo's last line is the empty doc-test binary's).
awk '/^test result:/ {p += $4; f += $6; if ($9 == "flaky;") {p += $8; k += $8}}
     END {printf "tests: %d passed, %d failed", p, f; if (k) printf " (%d flaky: passed when run again)", k; print ""}' "$log"
