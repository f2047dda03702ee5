#!/usr/bin/env bash
# Puts ONNX Runtime's libonnxruntime.so into a directory (by default the
# model directory, where the `ort` inference backend looks for it), taken
# from the pinned `onnxruntime` PyPI wheel with pip. Both the wheel and the
# library must match the sha256 pinned here; nothing is installed otherwise.
# Only the operator runs this (and scripts/test.sh for the ort tests):
# Citywatch never downloads at run time.
#
#   scripts/install-onnxruntime.sh [DIR]     DIR defaults to $CITYWATCH_MODELS
set -euo pipefail

VERSION=1.22.1
# The wheel is the same whatever Python runs pip: these pin its exact file.
WHEEL=onnxruntime-1.22.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
WHEEL_SHA256=f6effa1299ac549a05c784d50292e3378dbbf010346ded67400193b09ddc2f04
LIB=onnxruntime/capi/libonnxruntime.so.1.22.1
LIB_SHA256=ad9665887025474170d3e71cd28021e7e811c5bf201bc365f953e34a2c4989cc

dir="${1:-${CITYWATCH_MODELS:-}}"
[ -n "$dir" ] || { echo "usage: $0 DIR (or set CITYWATCH_MODELS)" >&2; exit 2; }
[ "$(uname -sm)" = "Linux x86_64" ] || { echo "only Linux x86_64 is pinned here (found $(uname -sm))" >&2; exit 1; }
mkdir -p "$dir"
target="$dir/libonnxruntime.so"
if [ -f "$target" ] && [ "$(sha256sum "$target" | cut -d' ' -f1)" = "$LIB_SHA256" ]; then
  echo "$target: ONNX Runtime $VERSION already present"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi cp311 \
  --dest "$work" "onnxruntime==$VERSION"
[ -f "$work/$WHEEL" ] || { echo "pip did not fetch $WHEEL (got: $(ls "$work"))" >&2; exit 1; }
got="$(sha256sum "$work/$WHEEL" | cut -d' ' -f1)"
[ "$got" = "$WHEEL_SHA256" ] || { echo "$WHEEL has sha256 $got, expected $WHEEL_SHA256: refusing it" >&2; exit 1; }
python3 -m zipfile -e "$work/$WHEEL" "$work/unpacked"
got="$(sha256sum "$work/unpacked/$LIB" | cut -d' ' -f1)"
[ "$got" = "$LIB_SHA256" ] || { echo "$LIB has sha256 $got, expected $LIB_SHA256: refusing it" >&2; exit 1; }
# Copy then rename, so a reader never sees a half-written library.
cp "$work/unpacked/$LIB" "$target.tmp"
mv "$target.tmp" "$target"
echo "$target: ONNX Runtime $VERSION installed"
