#!/usr/bin/env bash
# A real OpenID provider for the tests: panva's oidc-provider (OpenID
# Certified) on Node, configured with the suite's clients, accounts and
# roles by oidc-provider/provider.mjs. Installed once into a cache outside
# the clone; the tests start one provider per test with `node`.
#
#   deploy/local/oidc-provider.sh install           install if needed; print the directory
#                                                   holding provider.mjs and its node_modules
#   deploy/local/oidc-provider.sh start [port]      start one in the background; print its issuer
#   deploy/local/oidc-provider.sh stop              stop the one `start` started
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)/oidc-provider"
DIR="${BLANGKON_OIDC_PROVIDER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/blangkon/oidc-provider}"
STATE_DIR="${OIDC_STATE_DIR:-${XDG_RUNTIME_DIR:-${TMPDIR:-/tmp}}/blangkon-oidc-provider-$(id -u)}"

install() {
  command -v node >/dev/null || { echo "node is not installed (Node 20 or later)" >&2; exit 1; }
  mkdir -p "$DIR"
  if ! cmp -s "$HERE/package-lock.json" "$DIR/.installed-lock" 2>/dev/null; then
    echo "installing oidc-provider into $DIR ..." >&2
    cp "$HERE/package.json" "$HERE/package-lock.json" "$DIR/"
    (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$HERE/package-lock.json" "$DIR/.installed-lock"
  fi
  # The script itself is copied every time: cheap, and never stale.
  cp "$HERE/provider.mjs" "$DIR/provider.mjs"
  echo "$DIR"
}

start() {
  local port="${1:-18443}"
  install >/dev/null
  mkdir -p "$STATE_DIR"
  if [ -f "$STATE_DIR/pid" ] && kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null; then
    echo "http://127.0.0.1:$port"
    return
  fi
  node "$DIR/provider.mjs" "$port" "$STATE_DIR" >"$STATE_DIR/provider.log" 2>&1 &
  echo $! >"$STATE_DIR/pid"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "http://127.0.0.1:$port"
      return
    fi
    sleep 0.1
  done
  echo "the provider did not open port $port; its log:" >&2
  cat "$STATE_DIR/provider.log" >&2
  exit 1
}

stop() {
  if [ -f "$STATE_DIR/pid" ]; then
    kill "$(cat "$STATE_DIR/pid")" 2>/dev/null || true
    rm -f "$STATE_DIR/pid"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start "${2:-}" ;;
  stop) stop ;;
  *) echo "usage: $0 install|start [port]|stop" >&2; exit 2 ;;
esac
