#!/usr/bin/env bash
# Spatial benchmark: CameraIndex vs brute force vs PostGIS.
#
#   bench/spatial.sh                              # 100,000 cameras, 2,000 queries per kind
#   bench/spatial.sh --cameras 10000 --queries 200   # a quick run
#   bench/spatial.sh --no-pg                      # without PostgreSQL
#
# Arguments are passed to the benchmark binary (see --help). The PostgreSQL
# connection defaults to host=127.0.0.1 port=5432 user=postgres dbname=test;
# set it with --pg "CONN". PostGIS is installed here if it is missing and we
# are root; otherwise the PostGIS column is skipped with a message.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

POSTGIS_PKG="${POSTGIS_PKG:-postgresql-15-postgis-3}"

postgis_installed() {
    dpkg-query -W -f='${Status}' "$POSTGIS_PKG" 2>/dev/null | grep -q "install ok installed"
}

if command -v dpkg-query >/dev/null 2>&1 && ! postgis_installed; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing $POSTGIS_PKG ..." >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y "$POSTGIS_PKG" >&2 || { apt-get update >&2 && apt-get install -y "$POSTGIS_PKG" >&2; }
    else
        echo "note: $POSTGIS_PKG is not installed and we are not root; PostGIS may be unavailable" >&2
    fi
fi

cargo build --release -p citywatch-bench-spatial
exec "${CARGO_TARGET_DIR:-target}/release/citywatch-bench-spatial" "$@"
