#!/usr/bin/env bash
# Installs a cargo subcommand at an exact version from crates.io into the
# project's tool cache ($HOME/.cache/chatkit-leads/tools), unless that
# version is already there. Usage: scripts/install-tool.sh cargo-deny 0.20.2
set -euo pipefail
name=$1 version=$2
tools="$HOME/.cache/chatkit-leads/tools"
if ! "$tools/bin/$name" --version 2>/dev/null | grep -qx "$name $version"; then
    echo "installing $name $version" >&2
    CARGO_TARGET_DIR="$HOME/.cache/chatkit-leads/tools-build" \
        cargo install --quiet --locked --root "$tools" "$name" --version "$version"
fi
