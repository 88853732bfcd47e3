# syntax=docker/dockerfile:1
# chatkit-leads-server in a small image (docs/deploy-server.md).
#   docker build -t chatkit-leads-server .
#   docker run -p 8787:8787 --env-file server.env -v leads:/var/lib/chatkit-leads chatkit-leads-server
# CI parses this file (scripts/check-dockerfile.py); no engine runs there.

# Build stage: the workspace's pinned toolchain and lock file.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p chatkit-leads-server \
    && install -D -m 0755 target/release/chatkit-leads-server /out/chatkit-leads-server \
    && mkdir -p /out/state

# Runtime stage: glibc and libgcc only (the binary links SQLite and aws-lc
# statically), no shell, no package manager, an unprivileged user.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /out/chatkit-leads-server /usr/local/bin/chatkit-leads-server
# The SQLite file and the outbox; mount a volume here to keep them.
COPY --from=build --chown=65532:65532 /out/state /var/lib/chatkit-leads
WORKDIR /var/lib/chatkit-leads
USER nonroot
# Listen on every interface of the container; the offline preview and the
# outbox still need LEADS_PREVIEW_PUBLIC / LEADS_ALLOW_OUTBOX to serve there.
ENV BIND=0.0.0.0:8787
EXPOSE 8787
ENTRYPOINT ["/usr/local/bin/chatkit-leads-server"]
