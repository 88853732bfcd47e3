#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#
#   scripts/pg-test-cluster.sh start   # start one (or reuse TEST_DATABASE_URL); prints the URL
#   scripts/pg-test-cluster.sh url     # prints the URL of the running cluster
#   scripts/pg-test-cluster.sh stop    # stops the cluster and deletes its directory
#   scripts/pg-test-cluster.sh pause   # stops the server at once (as a crash), keeps the data
#   scripts/pg-test-cluster.sh resume  # starts a paused server again, on the same port
#
# When TEST_DATABASE_URL is set, `start` and `url` print it and start nothing.
# Otherwise `start` runs initdb + pg_ctl (PostgreSQL 15 from
# /usr/lib/postgresql/15/bin, or PG_BIN) in PG_TEST_CLUSTER_DIR (default: a
# directory under /tmp named after this checkout), listening on 127.0.0.1 on
# a free port, with fsync off, trust authentication and superuser `postgres`:
#
#   postgres://postgres@127.0.0.1:PORT/postgres
#
# For speed, commits are acknowledged before their WAL is written
# (synchronous_commit=off), so a server crash may lose the last ones.
# PG_TEST_DURABLE=1 at `start` keeps acknowledged commits across a crash
# (`pause`), as a production server does: the chaos test needs that.
#
# Run as root, the cluster runs as the `postgres` user (initdb refuses root);
# run as any other user, it runs as that user. Only the URL goes to stdout;
# progress and errors go to stderr.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PG_TEST_CLUSTER_DIR:-/tmp/chatkit-leads-pg-$(id -u)-$(printf '%s' "$repo" | cksum | cut -d' ' -f1)}"
data="$dir/data"
marker="$dir/.chatkit-leads-pg-test"

say() { printf 'pg-test-cluster: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  echo "usage: $0 start|stop|url|pause|resume" >&2
  exit 2
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -ne 0 ]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u postgres -- "$@"
  else
    # `su` takes one command string: quote every argument.
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  fi
}

find_bin() {
  local candidate
  for candidate in "${PG_BIN:-}" /usr/lib/postgresql/15/bin; do
    if [ -n "$candidate" ] && [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

require_bin() {
  bin="$(find_bin)" || die "PostgreSQL server binaries (initdb, pg_ctl) not found in \
${PG_BIN:-/usr/lib/postgresql/15/bin}. Install them (Debian: apt-get install postgresql-15), \
point PG_BIN at their directory, or set TEST_DATABASE_URL to an existing server \
(postgres://USER[:PASSWORD]@HOST:PORT/DB)."
}

url_for() { echo "postgres://postgres@127.0.0.1:$1/postgres"; }

# True when our cluster in $dir is up.
running() {
  [ -f "$marker" ] && [ -f "$dir/port" ] && [ -f "$data/postmaster.pid" ] || return 1
  require_bin
  as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

free_port() {
  if command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null; then
    return 0
  fi
  # No python: probe random high ports until one refuses connections.
  local port tries
  for tries in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# Starts the server of $data on port $1 (the Unix socket lives in the
# cluster directory, not /var/run).
start_server() {
  local commit=off
  [ -f "$dir/durable" ] && commit=on
  as_owner "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 30 \
    -o "-p $1 -k $dir -c listen_addresses=127.0.0.1 -c fsync=off \
        -c synchronous_commit=$commit -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
}

start() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    say "using TEST_DATABASE_URL; no cluster started"
    echo "$TEST_DATABASE_URL"
    return 0
  fi
  if running; then
    say "reusing the cluster in $dir"
    url_for "$(cat "$dir/port")"
    return 0
  fi
  require_bin
  if [ -e "$dir" ] && [ ! -f "$marker" ] && [ -n "$(ls -A "$dir")" ]; then
    die "$dir exists and is not an empty directory; set PG_TEST_CLUSTER_DIR elsewhere"
  fi
  if [ -f "$marker" ]; then
    # Left over from a run that did not stop it.
    rm -rf "$dir"
  fi
  mkdir -p "$dir"
  chmod 700 "$dir"
  touch "$marker"
  if [ "${PG_TEST_DURABLE:-}" = 1 ]; then
    touch "$dir/durable"
  fi
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the cluster as (initdb refuses root)"
    chown -R postgres: "$dir"
  fi
  as_owner test -w "$dir" ||
    die "$dir is not writable by the cluster's owner (a parent directory may be closed to it)"

  local started=$SECONDS
  as_owner "$bin/initdb" -D "$data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  }

  local attempt port
  for attempt in 1 2 3 4 5; do
    port="$(free_port)" || die "no free TCP port found"
    if start_server "$port"; then
      echo "$port" >"$dir/port"
      break
    fi
    # Most likely the port was taken between the probe and the bind.
    say "start on port $port failed (attempt $attempt); see $dir/postgres.log"
    port=""
  done
  [ -n "$port" ] || {
    tail -n 20 "$dir/postgres.log" >&2 || true
    die "PostgreSQL did not start"
  }

  # pg_ctl -w already waits for "ready"; confirm TCP answers too.
  if [ -x "$bin/pg_isready" ]; then
    local i
    for i in $(seq 1 100); do
      "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && break
      sleep 0.1
    done
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres || die "PostgreSQL does not answer on port $port"
  fi
  say "cluster ready in $dir on port $port ($((SECONDS - started)) s)"
  url_for "$port"
}

url() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "$TEST_DATABASE_URL"
  elif running; then
    url_for "$(cat "$dir/port")"
  else
    die "no cluster running in $dir (run: $0 start)"
  fi
}

stop() {
  # Only ever removes a directory this script created (it holds the marker).
  [ -f "$marker" ] || return 0
  if [ -f "$data/postmaster.pid" ]; then
    require_bin
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 ||
      as_owner "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 ||
      say "pg_ctl stop failed; removing $dir anyway"
  fi
  rm -rf "$dir"
  say "cluster in $dir stopped and removed"
}

# The chaos test's outage: the server goes away as if it crashed (no
# checkpoint, connections cut), and comes back with its data on its port.
pause() {
  running || die "no cluster running in $dir"
  as_owner "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null
}

resume() {
  [ -f "$marker" ] && [ -f "$dir/port" ] || die "no paused cluster in $dir"
  require_bin
  local port
  port="$(cat "$dir/port")"
  start_server "$port"
}

[ $# -eq 1 ] || usage
case "$1" in
  start) start ;;
  stop) stop ;;
  pause) pause ;;
  resume) resume ;;
  url) url ;;
  *) usage ;;
esac
