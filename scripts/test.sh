#!/usr/bin/env bash
# The project's test command (the README names it; .ci/run calls it).
# Starts the local services the tests need, runs every test in the
# workspace, and stops the services again (also on failure).
set -euo pipefail
cd "$(dirname "$0")/.."

# Cleanups run in reverse order of registration when the script exits.
cleanups=()
on_exit() {
  local i
  for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do eval "${cleanups[$i]}" || true; done
}
trap on_exit EXIT

# SMTP: the SMTP adapter's and the server's tests start scripts/smtp_server.py,
# a real SMTP server built on aiosmtpd (TEST-BACKENDS.md); they fail, not
# skip, without it.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check 'aiosmtpd==1.4.6'
fi

# PostgreSQL: use TEST_DATABASE_URL when set, otherwise a throwaway cluster
# in a fresh directory, stopped and deleted on exit.
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  PG_TEST_CLUSTER_DIR="$(mktemp -d /tmp/chatkit-leads-pg.XXXXXX)"
  export PG_TEST_CLUSTER_DIR
  cleanups+=('bash scripts/pg-test-cluster.sh stop; rmdir "$PG_TEST_CLUSTER_DIR" 2>/dev/null')
  TEST_DATABASE_URL="$(bash scripts/pg-test-cluster.sh start)"
fi
export TEST_DATABASE_URL

cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
