#!/usr/bin/env bash
# Makes the README's pictures in docs/images/:
#
#   docs/make-images.sh                 pipeline graphs and detected faces (test fixtures only)
#   docs/make-images.sh --before-after  also the before/after picture, which needs the
#                                       released weights (models/GPEN-BFR-512.pth, and
#                                       models/RetinaFace-R50.pth when it is there)
#
# Options: --out DIR (default docs/images), --model FILE (the before/after's
# model, default models/GPEN-BFR-512.pth), --device DEVICE (default auto).
# Needs a build (./setup.sh) and graphviz's dot (Debian: graphviz).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/docs/images"
model="$root/models/GPEN-BFR-512.pth"
device=auto
before_after=false
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --before-after) before_after=true; shift ;;
    *) echo "docs/make-images.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v dot >/dev/null || { echo "docs/make-images.sh: needs dot (apt-get install graphviz)" >&2; exit 2; }
build="$root/build"
fixture="$root/tests/data/gpen-64/gpen-64.pth"
images="$root/tests/data/images"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
export GST_PLUGIN_PATH="$build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

# 1. The pipelines gpen-enhance builds, as GStreamer dumps them: a folder of
#    photos (appsrc ! gpenenhance ! appsink between the decoding and encoding
#    workers) and a video with sound. A short clip of a face and a tone.
gst-launch-1.0 -q -e \
  filesrc location="$images/astronaut.png" ! pngdec ! videoconvert ! imagefreeze num-buffers=12 ! \
  video/x-raw,framerate=12/1 ! videoscale ! video/x-raw,width=256,height=256 ! videoconvert ! \
  vp8enc deadline=1 ! queue ! mux. \
  audiotestsrc num-buffers=43 ! audioconvert ! vorbisenc ! queue ! mux. \
  matroskamux name=mux ! filesink location="$work/clip.mkv"
mkdir -p "$work/dots"
GST_DEBUG_DUMP_DOT_DIR="$work/dots" GPEN_MODEL_DIR="$work/no-models" \
  "$build/tools/gpen-enhance" "$images/astronaut.png" "$work/clip.mkv" -o "$work/enhanced" \
  --model "$fixture" --device cpu >/dev/null 2>&1
for name in images video; do
  # The fixture's path says nothing to a reader; the released name does.
  sed "s|$fixture|models/GPEN-BFR-512.pth|g; s|$work/||g" "$work/dots/gpen-enhance-$name.dot" |
    dot -Tpng -Gdpi=72 -o "$out/pipeline-$name.png"
done

# 2. The faces the fallback detector (OpenCV's cascade, no model) finds in the
#    1927 Solvay photograph, from gpenfacedetect's metas.
"$build/examples/gpen-draw-faces" "$images/solvay_1927.png" "$out/solvay-detections.jpg" >/dev/null

# 3. Before and after, with the released weights: the front row of the
#    Solvay photograph, enlarged twice, original left and restored right.
if $before_after; then
  [ -f "$model" ] || { echo "docs/make-images.sh: $model is missing: models/fetch-models.sh" >&2; exit 1; }
  detector=()
  [ -f "$root/models/RetinaFace-R50.pth" ] && detector=(--detector-model "$root/models/RetinaFace-R50.pth")
  "$build/tools/gpen-enhance" "$images/solvay_1927.png" -o "$work/restored" --model "$model" \
    "${detector[@]}" --device "$device" --format png >/dev/null
  crop="videocrop left=500 right=428 top=140 bottom=238 ! videoscale ! video/x-raw,width=800,height=380"
  # shellcheck disable=SC2086  # $crop is a chain of elements
  gst-launch-1.0 -q -e \
    compositor name=mix sink_1::xpos=808 background=white ! videoconvert ! jpegenc quality=85 ! \
      filesink location="$out/before-after.jpg" \
    filesrc location="$images/solvay_1927.png" ! pngdec ! videoconvert ! $crop ! mix.sink_0 \
    filesrc location="$work/restored/solvay_1927.png" ! pngdec ! videoconvert ! $crop ! mix.sink_1
fi
ls -l "$out"
