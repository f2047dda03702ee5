#!/usr/bin/env bash
# Installs what building and testing Citywatch needs on a fresh Debian machine:
# Debian's Chromium (for the browser tests), cargo-deny and the console's npm
# packages.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# ffprobe/ffmpeg validate every MP4 we write; GStreamer's RTSP server is the
# real camera the recorder tests record from (run with Debian's python3).
command -v ffprobe >/dev/null 2>&1 || need_apt+=(ffmpeg)
# nasm: the openh264 crate (the simulated cameras' encoder) builds Cisco's
# OpenH264 from source and uses its assembly when nasm is there (faster encodes).
command -v nasm >/dev/null 2>&1 || need_apt+=(nasm)
# Mosquitto: the real MQTT broker (and mosquitto_sub) the event publication tests use.
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v mosquitto_sub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
for pkg in python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

# PostgreSQL: the second backend's tests (crates/store-postgres) create and
# drop a database of their own on the server at CITYWATCH_TEST_POSTGRES, by
# default this machine's (127.0.0.1:5432, user postgres). Start it if it is
# installed but down; install it if it is missing.
if [ -z "${CITYWATCH_TEST_POSTGRES:-}" ] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "setup: installing PostgreSQL"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql
  fi
  echo "setup: starting PostgreSQL"
  $SUDO service postgresql start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 || { echo "setup: PostgreSQL does not answer at 127.0.0.1:5432; set CITYWATCH_TEST_POSTGRES to a server the tests may create databases on" >&2; exit 1; }
fi

# rustfmt and clippy check the code before the tests (scripts/test.sh).
for component in rustfmt clippy; do
  cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 || rustup component add "$component"
done

# cargo-deny checks the dependency tree against deny.toml (scripts/test.sh).
# Built from source: about 4.5 minutes on two cores.
command -v cargo-deny >/dev/null 2>&1 || cargo install cargo-deny --version "^0.20" --locked

# The console: reinstall npm packages only when the lock file changed.
stamp=web/node_modules/.package-lock.sha256
want=$(sha256sum web/package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing the console's npm packages"
  npm --prefix web ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
echo "setup: building the console (web/dist, embedded in the binary)"
npm --prefix web run build --silent
