#!/usr/bin/env bash
# The project's test command (the README names it; .ci/run calls it).
# Starts whatever local services the tests need, runs every test in the
# workspace, and stops the services again.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
