#!/usr/bin/env bash
# Runs every test of Citywatch: the console's typecheck and unit tests (vitest),
# formatting, the dependency tree (cargo-deny: licences, bans, sources,
# advisories), clippy with warnings as errors, the Rust
# suites (unit, property, HTTP, authorization matrix, audit tampering, CLI)
# under cargo-nextest, the HTTP suite again on PostgreSQL, then the browser end-to-end test of the console
# against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== typecheck the console"
npm --prefix web run typecheck --silent

echo "== console unit tests (vitest)"
npm --prefix web run test:unit --silent

echo "== analytics models"
. scripts/models.sh

echo "== formatting (rustfmt.toml)"
cargo fmt --all --check

echo "== dependencies: licences, bans, sources (deny.toml)"
# Without --hide-inclusion-graph each finding shows which crates pull it in.
cargo deny check --hide-inclusion-graph licenses bans sources

echo "== dependencies: security advisories (RustSec)"
# The advisory database is a git repository on GitHub. A machine that cannot
# reach it (an offline or firewalled builder) skips this check, and says so:
# a stale copy would pass crates that have advisories since.
if fetch_log=$(cargo deny fetch db 2>&1); then
  cargo deny --offline check advisories
else
  echo "SKIPPED: cargo deny check advisories: the RustSec database could not be fetched from github.com; run it where GitHub is reachable."
  echo "$fetch_log" | grep -m1 -E "fatal|error" || true
fi

echo "== clippy (warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

echo "== HTTP tests again, on PostgreSQL"
# The same API suite with every repository on a fresh PostgreSQL database
# per test (127.0.0.1:5432; see crates/api/tests/common): both backends
# must serve the same answers.
if cargo nextest --version >/dev/null 2>&1; then
  CITYWATCH_TEST_DATABASE=postgres cargo nextest run -p citywatch-api --no-fail-fast
else
  CITYWATCH_TEST_DATABASE=postgres cargo test -p citywatch-api --no-fail-fast
fi

echo "== ONNX Runtime backend (feature ort)"
# The optional ort backend runs NanoDet on libonnxruntime.so from the pinned
# onnxruntime wheel; its tests compare it with tract on the same pictures.
# Only the ort tests run here; the "skipped" nextest prints counts the tests
# the filter leaves out, which all ran above without the feature.
scripts/install-onnxruntime.sh target/onnxruntime
if cargo nextest --version >/dev/null 2>&1; then
  ORT_DYLIB_PATH="$PWD/target/onnxruntime/libonnxruntime.so" cargo nextest run -p citywatch-analytics --features ort -E 'binary(ort_backend) | test(backend::)'
else
  ORT_DYLIB_PATH="$PWD/target/onnxruntime/libonnxruntime.so" cargo test -p citywatch-analytics --features ort --test ort_backend
fi

echo "== browser end-to-end test (headless Chromium)"
cargo build -p citywatch --quiet
CITYWATCH_BIN="$PWD/target/debug/citywatch" npm --prefix web run e2e --silent

echo "== all tests passed"
