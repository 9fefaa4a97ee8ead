#!/usr/bin/env bash
# A real browser for the tests: Debian's headless Chromium driven through
# ChromeDriver (W3C WebDriver), and the axe-core accessibility engine that
# the tests inject into pages. Chromium comes from apt (installed once, as
# root or through sudo); axe-core from npm, pinned by browser/package-lock.json
# and installed once into a cache outside the clone.
#
#   deploy/local/browser.sh install           install if needed; print the path of axe.min.js
#   deploy/local/browser.sh start [port]      start chromedriver on 127.0.0.1 (default 9515)
#                                             in the background; print its URL
#   deploy/local/browser.sh stop              stop the one `start` started, and its browsers
#   deploy/local/browser.sh running           exit 0 if that one is running
#
# Capabilities that work headless as root (Chromium refuses to start as root
# without --no-sandbox; the rest guard against a small /dev/shm and no GPU):
#   {"browserName":"chrome","goog:chromeOptions":{"binary":"/usr/bin/chromium",
#    "args":["--headless=new","--no-sandbox","--disable-dev-shm-usage",
#            "--disable-gpu","--window-size=1280,900"]}}
# --window-size is the window's: the viewport is 1280x757 with it. A phone:
# add "mobileEmulation":{"deviceMetrics":{"width":390,"height":844,"pixelRatio":3}}
# to goog:chromeOptions (viewport 390x844, devicePixelRatio 3).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)/browser"
DIR="${BLANGKON_BROWSER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/blangkon/browser}"
STATE_DIR="${CHROMEDRIVER_STATE_DIR:-${XDG_RUNTIME_DIR:-${TMPDIR:-/tmp}}/blangkon-chromedriver-$(id -u)}"
CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver
# fonts-liberation is only a recommendation of Chromium's, left out by
# --no-install-recommends; with it pages render with metric-compatible fonts.
PACKAGES=(chromium chromium-driver fonts-liberation)

apt_install() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${PACKAGES[@]}"
}

install_chromium() {
  [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ] && return
  command -v apt-get >/dev/null || { echo "no apt-get: install Chromium and ChromeDriver by hand" >&2; exit 1; }
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null \
      || { echo "installing Chromium needs root or sudo: apt-get install ${PACKAGES[*]}" >&2; exit 1; }
    # -n: never wait for a password (tests run this unattended).
    SUDO=(sudo -n)
  fi
  echo "installing ${PACKAGES[*]} with apt-get ..." >&2
  mkdir -p "$DIR"
  # apt's progress goes to a log, shown only when it fails.
  if ! apt_install >"$DIR/apt.log" 2>&1; then
    # The package lists may be missing or stale: refresh them once and retry.
    if ! { "${SUDO[@]}" apt-get update -q && apt_install; } >"$DIR/apt.log" 2>&1; then
      cat "$DIR/apt.log" >&2
      echo "apt-get could not install ${PACKAGES[*]}" >&2
      exit 1
    fi
  fi
}

install_axe() {
  command -v node >/dev/null || { echo "node is not installed (Node 20 or later)" >&2; exit 1; }
  mkdir -p "$DIR"
  if ! cmp -s "$HERE/package-lock.json" "$DIR/.installed-lock" 2>/dev/null \
     || [ ! -f "$DIR/node_modules/axe-core/axe.min.js" ]; then
    echo "installing axe-core into $DIR ..." >&2
    cp "$HERE/package.json" "$HERE/package-lock.json" "$DIR/"
    (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$HERE/package-lock.json" "$DIR/.installed-lock"
  fi
}

install() {
  mkdir -p "$DIR"
  # Tests may install from several processes at once: one at a time.
  if command -v flock >/dev/null; then
    exec 9>"$DIR/.lock"
    flock 9
  fi
  install_chromium
  install_axe
  if command -v flock >/dev/null; then
    exec 9>&-
  fi
  echo "$DIR/node_modules/axe-core/axe.min.js"
}

# Exit 0 if the chromedriver that `start` started is alive.
running() {
  [ -f "$STATE_DIR/pid" ] || return 1
  local pid
  pid="$(cat "$STATE_DIR/pid")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a reused pid.
  [ "$(cat "/proc/$pid/comm" 2>/dev/null || echo chromedriver)" = chromedriver ]
}

# Exit 0 if something on the port answers GET /status with 200.
answers() {
  local port="$1" line
  (
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    # HTTP/1.1: chromedriver refuses 1.0.
    printf 'GET /status HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$port" >&3
    IFS= read -r -t 2 line <&3 || exit 1
    case "$line" in "HTTP/1."?" 200"*) exit 0 ;; *) exit 1 ;; esac
  ) 2>/dev/null
}

start() {
  local port="${1:-9515}"
  install >/dev/null
  mkdir -p "$STATE_DIR"
  if running; then
    echo "http://127.0.0.1:$(cat "$STATE_DIR/port")"
    return
  fi
  if answers "$port"; then
    echo "something else already answers on port $port" >&2
    exit 1
  fi
  # Chromium's profiles, scratch files and crash-report database go under
  # the state dir, which `stop` removes: a browser killed with chromedriver
  # leaves its profile behind, and crashpad would write to ~/.config.
  rm -rf "$STATE_DIR/tmp"
  mkdir -p "$STATE_DIR/tmp/config"
  # Its own session, so that `stop` ends it with the browsers it started.
  TMPDIR="$STATE_DIR/tmp" XDG_CONFIG_HOME="$STATE_DIR/tmp/config" \
  setsid "$CHROMEDRIVER" --port="$port" \
    --log-path="$STATE_DIR/chromedriver.log" --log-level=WARNING </dev/null >"$STATE_DIR/stdout.log" 2>&1 &
  echo $! >"$STATE_DIR/pid"
  echo "$port" >"$STATE_DIR/port"
  for _ in $(seq 1 100); do
    kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null || break
    if answers "$port" && kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null; then
      echo "http://127.0.0.1:$port"
      return
    fi
    sleep 0.1
  done
  echo "chromedriver did not answer on port $port; its output and log:" >&2
  cat "$STATE_DIR/stdout.log" >&2 2>/dev/null || true
  tail -n 30 "$STATE_DIR/chromedriver.log" >&2 2>/dev/null || true
  stop
  exit 1
}

stop() {
  if [ -f "$STATE_DIR/pid" ]; then
    local pid
    pid="$(cat "$STATE_DIR/pid")"
    if running; then
      # chromedriver leads its own process group (setsid): end the group,
      # browsers included.
      kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$STATE_DIR/pid" "$STATE_DIR/port"
    rm -rf "$STATE_DIR/tmp"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start "${2:-}" ;;
  stop) stop ;;
  running) running ;;
  *) echo "usage: $0 install|start [port]|stop|running" >&2; exit 2 ;;
esac
