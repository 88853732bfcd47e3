#!/usr/bin/env bash
# What crates.io would check, without uploading: `cargo package` over every
# publishable crate (each one's files, then a build of the unpacked crate
# against the others as packaged), the tests of the unpacked core crate,
# and the docs as docs.rs builds them (nightly, every feature, `docsrs`).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chatkit-leads/target}"

# Publishable: no `publish = false` in the manifest. Each as
# `<name>-<version>`, the stem of its `.crate` file.
crates=()
packages=()
while read -r name version; do
    crates+=("$name")
    packages+=("$name-$version")
done < <(cargo metadata --format-version 1 --no-deps --locked | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["publish"] is None:
        print(p["name"], p["version"])')
echo "packaging ${#crates[@]} crates: ${crates[*]}"
cargo package --locked --quiet "${crates[@]/#/--package=}"

# Every package carries its README and both licences.
for package in "${packages[@]}"; do
    listing=$(tar -tzf "$CARGO_TARGET_DIR/package/$package.crate")
    for file in README.md LICENSE-MIT LICENSE-APACHE; do
        grep -qx "$package/$file" <<<"$listing" || {
            echo "$package.crate lacks $file" >&2
            exit 1
        }
    done
done

# The core's tests pass in its unpacked package (only crates.io around it).
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for i in "${!crates[@]}"; do
    [ "${crates[$i]}" = chatkit-leads-core ] && core=${packages[$i]}
done
tar -xzf "$CARGO_TARGET_DIR/package/$core.crate" -C "$scratch"
# The archive keeps the files' old times, so a test binary built from an
# earlier scratch copy would look fresh and run with that copy's (deleted)
# CARGO_MANIFEST_DIR baked in: make the sources newer than any build.
find "$scratch" -type f -exec touch {} +
if ! (cd "$scratch/$core" && cargo test --quiet --all-features) >"$scratch/test.log" 2>&1; then
    cat "$scratch/test.log" >&2
    echo "the unpacked chatkit-leads-core fails its tests" >&2
    exit 1
fi
echo "unpacked chatkit-leads-core: $(grep -c '^test result: ok' "$scratch/test.log") test targets pass"

# docs.rs: nightly, all features, `--cfg docsrs` (feature badges).
if rustup toolchain list | grep -q '^nightly'; then
    for crate in "${crates[@]}"; do
        RUSTDOCFLAGS="--cfg docsrs -D warnings" cargo +nightly doc --quiet --no-deps --locked \
            --all-features -p "$crate"
    done
    echo "docs.rs build: ${#crates[@]} crates without warnings"
else
    echo "no nightly toolchain: docs.rs build skipped" >&2
fi
