#!/usr/bin/env bash
# The project's test command (the README names it; .ci/run calls it).
# Starts the local services the tests need — a real SMTP server's Python
# package, the webhook receiver's verifiers, a throwaway PostgreSQL cluster,
# moto for DynamoDB and SES v2, Debian's Chromium and the browser package's npm dev dependencies — runs
# every test in the workspace and the browser tests, and stops the services
# again, however the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- cleanup on exit ---------------------------------------------------------
# Every service registers its own cleanup with `on_exit '<command>'`; they run
# in reverse order when the script ends. Do not install another
# `trap ... EXIT`: it would replace this one.
CLEANUPS=()
on_exit() { CLEANUPS+=("$1"); }
run_cleanups() {
    local status=$? i
    for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${CLEANUPS[i]}" || true
    done
    exit "$status"
}
trap run_cleanups EXIT
# Signals end the script through `exit`, so the EXIT trap runs for them too.
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits up to $3 seconds for a line matching $2 in the file $1; prints it.
wait_for_line() {
    local file=$1 pattern=$2 seconds=$3 i line
    for ((i = 0; i < seconds * 10; i++)); do
        if line=$(grep -m1 -E "$pattern" "$file" 2>/dev/null); then
            printf '%s\n' "$line"
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# --- SMTP: aiosmtpd -------------------------------------------------------------
# The SMTP adapter's and the server's tests start scripts/smtp_server.py, a
# real SMTP server built on aiosmtpd (TEST-BACKENDS.md); they fail, not skip,
# without it.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check 'aiosmtpd==1.4.6'
fi

# --- Webhook receiver: verifiers we did not write ----------------------------
# scripts/webhook_receiver.py (started by the sinks' tests) verifies Standard
# Webhooks signatures with PyPI's `standardwebhooks` and validates bodies
# against schemas/lead-event.v1.json with PyPI's `jsonschema`.
if ! python3 -c 'import standardwebhooks, jsonschema' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check \
        'standardwebhooks==1.1.0' 'jsonschema==4.26.0'
fi

# --- PostgreSQL: a throwaway cluster -------------------------------------------
# TEST_DATABASE_URL may point at a running server; otherwise start one in a
# fresh directory, stopped and deleted on exit.
if [[ -z "${TEST_DATABASE_URL:-}" ]]; then
    PG_TEST_CLUSTER_DIR="$(mktemp -d /tmp/chatkit-leads-pg.XXXXXX)"
    export PG_TEST_CLUSTER_DIR
    on_exit 'bash scripts/pg-test-cluster.sh stop; rmdir "$PG_TEST_CLUSTER_DIR" 2>/dev/null'
    TEST_DATABASE_URL="$(bash scripts/pg-test-cluster.sh start)"
fi
export TEST_DATABASE_URL

# --- DynamoDB and SES v2: moto, served single-threaded ------------------------
# TEST_AWS_ENDPOINT_URL may point at a running stand-in; otherwise start one.
MOTO_VERSION=5.2.5
if [[ -z "${TEST_AWS_ENDPOINT_URL:-}" ]]; then
    if ! python3 -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
        echo "installing moto[server]==$MOTO_VERSION" >&2
        python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    fi
    moto_dir=$(mktemp -d)
    on_exit "rm -rf '$moto_dir'"
    python3 scripts/moto_server.py --port 0 >"$moto_dir/out.log" 2>&1 &
    moto_pid=$!
    on_exit "kill $moto_pid 2>/dev/null; wait $moto_pid 2>/dev/null"
    if ! line=$(wait_for_line "$moto_dir/out.log" '^listening on [0-9]+$' 60); then
        echo "moto did not start; its output:" >&2
        cat "$moto_dir/out.log" >&2
        exit 1
    fi
    export TEST_AWS_ENDPOINT_URL="http://127.0.0.1:${line#listening on }"
    echo "moto $MOTO_VERSION (DynamoDB, SES v2) at $TEST_AWS_ENDPOINT_URL" >&2
fi

# --- Browser: Debian's Chromium and the browser package's dev dependencies --
# The browser tests (adapters/browser/test) drive Debian's Chromium with
# playwright-core; CHROMIUM may point at another build.
if [[ -z "${CHROMIUM:-}" && ! -x /usr/bin/chromium ]]; then
    if [[ "$(id -u)" -eq 0 ]]; then
        echo "installing chromium (Debian package)" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "Chromium is missing: sudo apt-get install -y chromium (or set CHROMIUM=/path/to/chromium)" >&2
        exit 1
    fi
fi
(cd adapters/browser && npm ci --no-audit --no-fund --loglevel=error)

cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked

# The browser tests start the server and OpenAI fake binaries just built.
cargo build --locked -p chatkit-leads-server -p chatkit-leads-openai-fake
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
(cd adapters/browser && node --test --test-concurrency=1 test/*.test.mjs)
