#!/usr/bin/env bash
# Instruction counts of the main benchmark scenarios under
# `valgrind --tool=callgrind`: repeatable on a shared machine, where times
# move several-fold, so two builds compare exactly.
#
# Each scenario runs once with 1 and once with 1 + N repetitions; the
# difference divided by N is the cost of one more lead, without start-up,
# fixture loading or first-call work. Prints a Markdown table.
#
#   bash scripts/instructions.sh                  # every scenario, N=10
#   N=20 bash scripts/instructions.sh extract     # named scenarios
#   BIN=/path/to/instructions bash scripts/…      # a binary built elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-10}"
if [[ -n "${BIN:-}" ]]; then
  bin="$BIN"
else
  cargo build --release --locked -q -p chatkit-leads-benches --bin instructions
  bin="${CARGO_TARGET_DIR:-target}/release/instructions"
fi
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Total instructions (Ir) of one run of `$bin $1 $2`.
count() {
  valgrind --tool=callgrind --callgrind-out-file="$work/out" "$bin" "$1" "$2" \
    >/dev/null 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
  sed -n 's/^summary: //p' "$work/out"
}

scenarios=("$@")
if [[ ${#scenarios[@]} -eq 0 ]]; then
  mapfile -t scenarios < <("$bin" list | cut -f1)
fi
echo "| scenario | instructions per run |"
echo "|---|---|"
for scenario in "${scenarios[@]}"; do
  one=$(count "$scenario" 1)
  many=$(count "$scenario" $((N + 1)))
  echo "| $scenario | $(( (many - one) / N )) |"
done
