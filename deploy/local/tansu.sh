#!/usr/bin/env bash
# A throwaway Apache-Kafka-compatible broker (tansu, in-memory storage) for
# end-to-end tests on machines without Kafka; the SCRAM test runs its own
# on SQLite storage.
#
#   deploy/local/tansu.sh install   build tansu once into ~/.cargo/bin (~8 min)
#   deploy/local/tansu.sh start     start it; prints the bootstrap address
#   deploy/local/tansu.sh running   exit 0 if the broker this script started runs
#   deploy/local/tansu.sh stop      stop the broker this script started
set -euo pipefail

PORT="${TANSU_PORT:-19092}"
STATE_DIR="${TANSU_STATE_DIR:-${TMPDIR:-/tmp}/blangkon-tansu}"
TANSU="${CARGO_HOME:-$HOME/.cargo}/bin/tansu"
# The version and storage engines the tests need: in-memory storage for
# the broker the tests share, SQLite (libsql) for the SCRAM test, whose
# users must outlive the broker that created them. A different build
# already installed is replaced.
VERSION=0.6.0
FEATURES=dynostore,libsql
STAMP="$TANSU.blangkon"

install() {
  if [ -x "$TANSU" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION $FEATURES" ]; then
    return
  fi
  echo "installing tansu (first time only, about 8 minutes)..." >&2
  # A test broker needs no more than opt-level 1: it builds in about half
  # the time of the default release profile (10 min 16 s on 2 cores) and
  # moves the tests' traffic with room to spare. Its own target directory
  # keeps it apart from ours and is dropped once installed.
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=0 \
    cargo install tansu --version "$VERSION" --locked --force --features "$FEATURES"
  echo "$VERSION $FEATURES" >"$STAMP"
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

start() {
  install
  mkdir -p "$STATE_DIR"
  if [ -f "$STATE_DIR/pid" ] && kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null; then
    echo "127.0.0.1:$PORT"
    return
  fi
  if port_open; then
    echo "port $PORT is taken by something else; set TANSU_PORT" >&2
    exit 1
  fi
  "$TANSU" broker \
    --listener-url "tcp://127.0.0.1:$PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$PORT" \
    --storage-engine "memory://tansu/" \
    >"$STATE_DIR/broker.log" 2>&1 &
  echo $! >"$STATE_DIR/pid"
  for _ in $(seq 1 100); do
    if port_open; then
      echo "127.0.0.1:$PORT"
      return
    fi
    sleep 0.1
  done
  echo "tansu did not open port $PORT; its log:" >&2
  cat "$STATE_DIR/broker.log" >&2
  exit 1
}

running() {
  [ -f "$STATE_DIR/pid" ] && kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null
}

stop() {
  if [ -f "$STATE_DIR/pid" ]; then
    kill "$(cat "$STATE_DIR/pid")" 2>/dev/null || true
    rm -f "$STATE_DIR/pid"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  running) running ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|running|stop" >&2; exit 2 ;;
esac
