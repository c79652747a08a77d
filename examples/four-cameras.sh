#!/usr/bin/env bash
# Four cameras, one model: four live streams through four gpenenhance
# elements that share one loaded model, one device and one batcher
# (model-instance-id=cameras), so the faces of all four fill the same
# batches and the model is in memory once. Each stream's frames leave in its
# own order with its own timestamps; each keeps its own batch-timeout.
#
#   examples/four-cameras.sh test                      # four live test sources (a face photo each)
#   examples/four-cameras.sh rtsp://cam1/s rtsp://cam2/s /dev/video0 /dev/video2
#   SINK=fakesink NUM_BUFFERS=50 examples/four-cameras.sh test
#   examples/four-cameras.sh --print test              # the pipeline, one argument a line
#
# Each source is an RTSP camera, a V4L2 webcam or "test"; the branch it gets:
#   rtsp://...  rtspsrc location=URL latency=200 ! decodebin
#   /dev/videoN v4l2src device=/dev/videoN ! decodebin
#   test        filesrc location=FACE ! decodebin ! imagefreeze is-live=true
# then  ! queue leaky=downstream ! videoconvert ! gpenenhance model-instance-id=cameras
#   batch-size=4 batch-timeout=40000000 ... ! queue ! videoconvert ! SINK.
# The elements sharing an id must agree on model, device, precision,
# face-mode, batch-size, pipeline-depth and the detection properties (a
# mismatch is an error naming both elements); strength, denoise, sharpen,
# max-faces and batch-timeout are each stream's own.
#
# Environment: GPEN_MODEL, GPEN_DETECTOR_MODEL, GPEN_DEVICE as in
# live-stream.sh; GPEN_BATCH_SIZE (default 4: one face from each camera
# fills a batch); BATCH_TIMEOUT in ns (default 40000000); SINK (default
# autovideosink); NUM_BUFFERS for the test sources (default: endless); FACE
# (default tests/data/images/astronaut.png).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
print=false
if [ "${1:-}" = --print ]; then print=true; shift; fi
[ $# -ge 1 ] || { echo "usage: examples/four-cameras.sh [--print] test | SOURCE..." >&2; exit 2; }
sources=("$@")
[ "${sources[0]}" = test ] && [ $# -eq 1 ] && sources=(test test test test)
model="${GPEN_MODEL:-$here/models/GPEN-BFR-512.pth}"
detector_model="${GPEN_DETECTOR_MODEL:-$here/models/RetinaFace-R50.pth}"
face="${FACE:-$here/tests/data/images/astronaut.png}"
detector=()
[ -f "$detector_model" ] && detector=(detector-model="$detector_model")

pipeline=()
i=0
for source in "${sources[@]}"; do
  case "$source" in
    rtsp://*|rtsps://*) src=(rtspsrc location="$source" latency=200 ! decodebin) ;;
    /dev/video*) src=(v4l2src device="$source" ! decodebin) ;;
    test) src=(filesrc location="$face" ! decodebin ! imagefreeze is-live=true
               num-buffers="${NUM_BUFFERS:--1}" ! video/x-raw,framerate=25/1) ;;
    *) echo "examples/four-cameras.sh: $source: give rtsp://..., /dev/videoN or test" >&2; exit 2 ;;
  esac
  # shellcheck disable=SC2206  # SINK may hold an element and its properties
  pipeline+=("${src[@]}" ! queue leaky=downstream max-size-buffers=8 ! videoconvert !
             gpenenhance name=gpen$i model-instance-id=cameras model="$model" "${detector[@]}"
               device="${GPEN_DEVICE:-auto}" batch-size="${GPEN_BATCH_SIZE:-4}"
               batch-timeout="${BATCH_TIMEOUT:-40000000}" !
             queue ! videoconvert ! ${SINK:-autovideosink})
  i=$((i + 1))
done

if $print; then
  printf '%s\n' "${pipeline[@]}"  # one gst-launch argument per line
  exit 0
fi
export GST_PLUGIN_PATH="$here/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
exec gst-launch-1.0 -e "${pipeline[@]}"
