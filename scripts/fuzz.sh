#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 20) and
# prints how many inputs each ran. Needs the nightly toolchain; without it
# the script says so and exits 0 (CI runs it only where nightly exists).
# Inputs the fuzzer finds interesting go to a throwaway folder, so the
# committed seeds (fuzz/seeds/<target>) stay as they are; a crash is kept
# in fuzz/artifacts/<target>/ and fails the script.
#
#   bash scripts/fuzz.sh          # the smoke run CI does: 20 s per target
#   bash scripts/fuzz.sh 3600     # the long run of docs/reliability.md
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz: no nightly toolchain here; skipped" >&2
    exit 0
fi
bash scripts/install-tool.sh cargo-fuzz 0.13.1
export PATH="$HOME/.cache/chatkit-leads/tools/bin:$PATH"
export CARGO_TARGET_DIR="$HOME/.cache/chatkit-leads/fuzz-target"
cd fuzz
cargo +nightly fuzz build 2>&1 | grep -v '^\s*Compiling' || true
# `fuzz build` exits non-zero on a compile error; grep hid that, so check.
cargo +nightly fuzz build >/dev/null

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
total=0
for target in $(cargo +nightly fuzz list); do
    mkdir -p "$scratch/$target"
    corpora=("$scratch/$target")
    [[ -d "seeds/$target" ]] && corpora+=("seeds/$target")
    log="$scratch/$target.log"
    if ! cargo +nightly fuzz run "$target" "${corpora[@]}" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        echo "fuzz: $target FAILED; the input is in fuzz/artifacts/$target/" >&2
        tail -40 "$log" >&2
        exit 1
    fi
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
    total=$((total + runs))
    printf 'fuzz: %-12s %10d inputs in %s s, no crash\n' "$target" "$runs" "$seconds"
done
printf 'fuzz: %d inputs in total, 0 crashes\n' "$total"
