#!/usr/bin/env bash
# The project's test command (the README names it; .ci/run calls it).
# Starts whatever local services the tests need, runs every test in the
# workspace, and stops the services again.
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL: use TEST_DATABASE_URL when set, otherwise a throwaway cluster
# in a fresh directory, stopped and deleted on exit (even on failure).
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  PG_TEST_CLUSTER_DIR="$(mktemp -d /tmp/chatkit-leads-pg.XXXXXX)"
  export PG_TEST_CLUSTER_DIR
  trap 'bash scripts/pg-test-cluster.sh stop; rmdir "$PG_TEST_CLUSTER_DIR" 2>/dev/null || true' EXIT
  TEST_DATABASE_URL="$(bash scripts/pg-test-cluster.sh start)"
fi
export TEST_DATABASE_URL

cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
