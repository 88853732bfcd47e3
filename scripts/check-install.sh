#!/usr/bin/env bash
# `cargo install` gives the server the README runs: installed into ROOT
# (a debug build, sharing the CI build cache), started in an empty
# directory with no settings, it must serve the offline preview: the
# browser script, the demo page and a bundled sample lead into ./outbox.
#
#   bash scripts/check-install.sh ROOT
set -euo pipefail
cd "$(dirname "$0")/.."
root="${1:?usage: check-install.sh ROOT}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chatkit-leads/target}"

cargo install --quiet --locked --debug --force --path examples/axum-server --root "$root"
binary="$root/bin/chatkit-leads-server"

work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# A clean environment: no setting of this machine may leak in.
(cd "$work" && exec env -i PATH="$PATH" HOME="$work" BIND="127.0.0.1:$port" "$binary" >"$work/server.log" 2>&1) &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
fail() {
    echo "installed server: $1" >&2
    cat "$work/server.log" >&2
    exit 1
}
curl -fsS "$base/chatkit-leads.js" | grep -q 'chatkit' || fail "no browser script"
curl -fsS "$base/demo" | grep -qi '<html' || fail "no demo page"
answer=$(curl -sS -X POST "$base/lead" -H 'content-type: application/json' \
    -d '{"threadId":"cthr_fx_en_truck_seats","reason":"manual"}')
grep -q '"sent":true' <<<"$answer" || fail "the sample lead was not sent: $answer"
ls "$work"/outbox/*.eml >/dev/null 2>&1 || fail "no email in ./outbox"
test -f "$work/chatkit-leads.db" || fail "no SQLite file in the working directory"
echo "installed server: preview served from $work, sample lead in ./outbox (${answer})"
