#!/usr/bin/env bash
# Load test of the server binary (release build) on this machine:
#   0. GET /healthz, the HTTP ceiling of this server on this machine;
#   1. POST /lead on the `already_sent` fast path (SQLite store);
#   2. POST /session against the local OpenAI fake.
# Absolute rates move several-fold with the shared machine's load: compare
# the fast path as a share of /healthz in the same run.
#
# BIN_DIR=<dir> uses the binaries in <dir> instead of building this
# checkout (to compare two builds with the same script).
# Installs wrk (Debian package) when missing. Traffic stays on 127.0.0.1;
# every run is bounded by DURATION. Results go to stdout; copy them into
# docs/performance.md with the machine and date. Every request comes from
# one address, so the rate limits are set too high to bind (their checks
# still run, as in production), and a run that got any answer but 2xx
# fails: the figures are of the answers the endpoint exists for.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"

if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

if [[ -n "${BIN_DIR:-}" ]]; then
  bin="$BIN_DIR"
else
  cargo build --release --locked -p chatkit-leads-server -p chatkit-leads-openai-fake
  bin="${CARGO_TARGET_DIR:-target}/release"
fi
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$bin/chatkit-leads-openai-fake" --fixtures tests/fixtures --api-key sk-load --bind 127.0.0.1:0 >"$work/fake.out" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/fake.out" && break; sleep 0.1; done
fake_url=$(sed -n 's/^listening on //p' "$work/fake.out")

port=$(free_port)
OPENAI_API_KEY=sk-load CHATKIT_WORKFLOW_ID=wf_load OPENAI_BASE_URL="$fake_url" \
LEAD_TO_EMAIL=shop@example.com LEAD_FROM_EMAIL=leads@example.com \
LEADS_STORE="sqlite://$work/leads.db" LEADS_MAILER="outbox:$work/outbox" \
LEADS_TRUST_BROWSER_USER=true BIND="127.0.0.1:$port" RUST_LOG=error \
LEADS_RATE_PER_ADDRESS=1000000000 LEADS_RATE_PER_USER=1000000000 \
  "$bin/chatkit-leads-server" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

lead='{"threadId":"cthr_fx_en_truck_seats","reason":"idle"}'
echo "priming: $(curl -s -X POST "http://127.0.0.1:$port/lead" -d "$lead")"

# wrk with the given arguments; fails when any answer was not 2xx.
run_wrk() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" | tee "$work/wrk.out"
  if grep -q "Non-2xx" "$work/wrk.out"; then
    echo "error: answers other than 2xx; the figures above are not of this endpoint" >&2
    exit 1
  fi
}

echo "== GET /healthz (the ceiling), $CONNECTIONS connections, $DURATION"
run_wrk "http://127.0.0.1:$port/healthz"

echo "== POST /lead (already_sent fast path), $CONNECTIONS connections, $DURATION"
BODY="$lead" run_wrk -s benches/load/post.lua "http://127.0.0.1:$port/lead"
echo "check: $(curl -s -X POST "http://127.0.0.1:$port/lead" -d "$lead")"

echo "== POST /session (through the local OpenAI fake), $CONNECTIONS connections, $DURATION"
BODY='{"locale":"en","pageUrl":"https://shop.example/","user":"anon_load"}' \
  run_wrk -s benches/load/post.lua "http://127.0.0.1:$port/session"
echo "emails written: $(ls "$work/outbox" | grep -c '\.eml$')"
