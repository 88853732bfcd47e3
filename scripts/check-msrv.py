"""One MSRV, honoured by the dependency tree (docs/versioning.md).

Reads `cargo metadata` (every package of the lock file, for every platform)
and fails when the workspace's crates do not all declare the same
`rust-version`, or when any dependency declares a newer one than they do:
then our MSRV would be a promise the dependency tree breaks.
"""

import json
import subprocess
import sys


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def main() -> None:
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    members = set(metadata["workspace_members"])
    ours = {p["name"]: p.get("rust_version") for p in metadata["packages"] if p["id"] in members}
    declared = set(ours.values())
    if len(declared) != 1 or None in declared:
        for name, rust in sorted(ours.items()):
            print(f"  {name}: {rust}", file=sys.stderr)
        sys.exit("workspace crates must all inherit one rust-version (workspace.package)")
    msrv = declared.pop()
    newer = sorted(
        (version(p["rust_version"]), p["name"], p["version"])
        for p in metadata["packages"]
        if p["id"] not in members and p.get("rust_version") and version(p["rust_version"]) > version(msrv)
    )
    if newer:
        for rust, name, ver in newer:
            print(f"  {name} {ver} needs Rust {'.'.join(map(str, rust))}", file=sys.stderr)
        sys.exit(f"dependencies need a newer Rust than the MSRV {msrv}: raise it on purpose or hold them back")
    highest = max(
        (version(p["rust_version"]) for p in metadata["packages"] if p["id"] not in members and p.get("rust_version")),
        default=(),
    )
    print(
        f"MSRV {msrv}: {len(ours)} workspace crates, {len(metadata['packages']) - len(ours)} dependencies, "
        f"the highest declares {'.'.join(map(str, highest))}"
    )


if __name__ == "__main__":
    main()
