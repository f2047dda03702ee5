#!/usr/bin/env bash
# Live view latency on loopback: GStreamer RTSP source → ingest → live hub →
# /api/v1/live WebSocket → clients, all on this machine.
#
#   bench/live.sh                                        # 100 subscribes, 16 viewers for 30 s
#   bench/live.sh --subscribes 20 --viewers 4 --seconds 10   # a quick run
#
# Prints subscribe → first decodable fragment and hub arrival → fragment
# received (an upper bound of arrival → WebSocket send) as p50/p90/p99/max.
# Needs /usr/bin/python3 with GStreamer's RTSP server (scripts/setup.sh).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --release -p citywatch-bench-live
exec "${CARGO_TARGET_DIR:-target}/release/citywatch-bench-live" "$@"
