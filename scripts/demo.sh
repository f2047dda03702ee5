#!/usr/bin/env bash
# Builds Citywatch and runs the demo: a simulated Belgrade with 10 districts
# and 240 cameras, served at http://127.0.0.1:8080/ (override with LISTEN=).
# The demo's data stays in ./citywatch-demo; delete it for a fresh city.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/models.sh
cargo build -p citywatch --release
exec target/release/citywatch demo --data "${DEMO_DATA:-./citywatch-demo}" --listen "${LISTEN:-127.0.0.1:8080}" "$@"
