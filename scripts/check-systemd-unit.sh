#!/usr/bin/env bash
# Checks deploy/chatkit-leads-server.service the way systemd would load it:
# `systemd-analyze verify` in a scratch root holding the unit, the system's
# own units (its dependencies) and the binary it starts, failing on any
# complaint (verify warns and still exits 0 on unknown keys or bad values);
# then `systemd-analyze security` with an exposure ceiling of 2.0.
#
#   bash scripts/check-systemd-unit.sh [path/to/chatkit-leads-server]
set -euo pipefail
cd "$(dirname "$0")/.."
unit=chatkit-leads-server.service
binary="${1:-}"

if ! command -v systemd-analyze >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/local/bin" "$root/etc/systemd/system" "$root/etc/chatkit-leads" "$root/usr/lib/systemd"
cp -r /lib/systemd/system "$root/usr/lib/systemd/"
cp "deploy/$unit" "$root/etc/systemd/system/"
cp deploy/server.env.example "$root/etc/chatkit-leads/server.env"
if [ -n "$binary" ]; then
    cp "$binary" "$root/usr/local/bin/chatkit-leads-server"
else
    # verify only needs an executable at ExecStart's path.
    cp "$(type -P true)" "$root/usr/local/bin/chatkit-leads-server"
fi

complaints=$(systemd-analyze verify --root="$root" "/etc/systemd/system/$unit" 2>&1) || {
    echo "$complaints" >&2
    exit 1
}
if [ -n "$complaints" ]; then
    echo "systemd-analyze verify complained about deploy/$unit:" >&2
    echo "$complaints" >&2
    exit 1
fi
# --threshold is in tenths: 20 is an overall exposure of 2.0 ("OK").
if ! report=$(systemd-analyze security --offline=yes --threshold=20 --root="$root" \
    "/etc/systemd/system/$unit" 2>&1); then
    echo "$report" >&2
    echo "deploy/$unit: exposure above 2.0" >&2
    exit 1
fi
echo "deploy/$unit: verify clean; $(echo "$report" | grep -o 'Overall exposure level.*')"
