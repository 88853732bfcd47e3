"""Parses the Dockerfile with the official BuildKit parser (the `dockerfile`
package from PyPI wraps it) and checks the promises docs/deploy-server.md
makes about the image: a build stage that compiles the server from the lock
file, a distroless runtime stage running as a non-root user, and the binary
copied from the build stage as the entry point. No container engine runs on
our CI machines, so this is the check we can make.
"""

import sys

import dockerfile


def fail(message: str) -> None:
    print(f"Dockerfile: {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    try:
        commands = dockerfile.parse_file("Dockerfile")
    except dockerfile.GoParseError as err:
        fail(f"does not parse: {err}")
    stages: list[list[dockerfile.Command]] = []
    for command in commands:
        if command.cmd == "FROM":
            stages.append([])
        elif not stages:
            fail(f"{command.original!r} comes before the first FROM")
        stages[-1].append(command)
    froms = [c for c in commands if c.cmd == "FROM"]
    if len(froms) < 2:
        fail("must be a multi-stage build (a build stage and a runtime stage)")
    build_name = froms[0].value[-1]
    builds = [c for c in stages[0] if c.cmd == "RUN" and "cargo build" in c.value[0]]
    if not any("--locked" in c.value[0] and "chatkit-leads-server" in c.value[0] for c in builds):
        fail("the build stage must `cargo build --locked -p chatkit-leads-server`")
    runtime_image = froms[-1].value[0]
    if not runtime_image.startswith("gcr.io/distroless/"):
        fail(f"the runtime stage must be distroless, not {runtime_image}")
    runtime = stages[-1]
    users = [c.value[0] for c in runtime if c.cmd == "USER"]
    if not users or users[-1] in ("root", "0"):
        fail("the runtime stage must run as a non-root USER")
    if any(c.cmd == "RUN" for c in runtime):
        fail("the runtime stage has no shell: no RUN there")
    entry = [c for c in runtime if c.cmd == "ENTRYPOINT"]
    if not entry or not entry[-1].json:
        fail("needs an exec-form (JSON) ENTRYPOINT")
    binary = entry[-1].value[0]
    copied = [
        c
        for c in runtime
        if c.cmd == "COPY" and f"--from={build_name}" in c.flags and c.value[-1] == binary
    ]
    if not copied:
        fail(f"the entry point {binary} must be copied from the {build_name!r} stage")
    print(f"Dockerfile: {len(stages)} stages, runtime {runtime_image} as {users[-1]}, entry {binary}")


if __name__ == "__main__":
    main()
