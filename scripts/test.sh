#!/usr/bin/env bash
# The project's test command (the README names it; .ci/run calls it).
# Starts whatever local services the tests need, runs every test in the
# workspace, and stops the services again.
set -euo pipefail
cd "$(dirname "$0")/.."

# The SMTP adapter's tests start scripts/smtp_server.py, a real SMTP server
# built on aiosmtpd (TEST-BACKENDS.md); they fail, not skip, without it.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check 'aiosmtpd==1.4.6'
fi

cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
