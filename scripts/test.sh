#!/usr/bin/env bash
# Runs every test of Citywatch: the Rust suites (unit, property, HTTP,
# authorization matrix, audit tampering, CLI) under cargo-nextest, then the
# browser end-to-end test of the console against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== typecheck the console"
npm --prefix web run typecheck --silent

echo "== Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

echo "== browser end-to-end test (headless Chromium)"
cargo build -p citywatch --quiet
CITYWATCH_BIN="$PWD/target/debug/citywatch" npm --prefix web run e2e --silent

echo "== all tests passed"
