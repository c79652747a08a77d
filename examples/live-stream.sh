#!/usr/bin/env bash
# Restores faces in a live stream: an RTSP camera, a V4L2 webcam, or a test
# source, shown on screen (or sent to another sink).
#
#   examples/live-stream.sh rtsp://camera.local/stream
#   examples/live-stream.sh /dev/video0
#   examples/live-stream.sh test                          # videotestsrc, is-live
#   SINK=fakesink examples/live-stream.sh test            # no window
#   examples/live-stream.sh --print rtsp://...            # the pipeline, one argument a line
#
# Latency. gpenenhance waits for a batch before running the network, which on
# a live stream would add (batch-size - 1) frame times; batch-timeout caps
# that wait (here one frame at 25 fps, 40 ms), so a partial batch goes when
# frames come slower than the GPU restores them. The element adds that wait
# plus the measured time of one network run to the pipeline latency (it
# answers the LATENCY query and posts a latency message when it changes);
# the sink then shows each frame that much later, and steadily. The leaky
# queue in front drops frames rather than letting a delay build up when the
# GPU cannot keep up; rtspsrc adds its own jitter buffer (latency=200 ms).
#
# GPU decoding: with the nvcodec plugin (gstreamer1.0-plugins-bad, an NVIDIA
# driver), decodebin picks nvh264dec/nvh265dec for an H.264/H.265 camera by
# itself, which leaves the CPU free; the frames are then downloaded to system
# memory for gpenenhance.
#
# Environment: GPEN_MODEL, GPEN_DETECTOR_MODEL, GPEN_DEVICE as in
# enhance-photos.sh; GPEN_BATCH_SIZE (default 4); BATCH_TIMEOUT in ns
# (default 40000000); SINK (default autovideosink); NUM_BUFFERS for the test
# source (default: endless).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
print=false
if [ "${1:-}" = --print ]; then print=true; shift; fi
source="${1:?rtsp://URL, /dev/videoN or test}"
model="${GPEN_MODEL:-$here/models/GPEN-BFR-512.pth}"
detector_model="${GPEN_DETECTOR_MODEL:-$here/models/RetinaFace-R50.pth}"

case "$source" in
  rtsp://*|rtsps://*) src=(rtspsrc location="$source" latency=200 ! decodebin) ;;
  /dev/video*) src=(v4l2src device="$source" ! decodebin) ;;
  test) src=(videotestsrc is-live=true pattern=ball num-buffers="${NUM_BUFFERS:--1}" !
             video/x-raw,width=640,height=360,framerate=25/1) ;;
  *) echo "examples/live-stream.sh: $source: give rtsp://..., /dev/videoN or test" >&2; exit 2 ;;
esac
detector=()
[ -f "$detector_model" ] && detector=(detector-model="$detector_model")
# shellcheck disable=SC2206  # SINK may hold an element and its properties
pipeline=("${src[@]}" ! queue leaky=downstream max-size-buffers=8 ! videoconvert !
          gpenenhance name=gpen model="$model" "${detector[@]}" device="${GPEN_DEVICE:-auto}"
            batch-size="${GPEN_BATCH_SIZE:-4}" batch-timeout="${BATCH_TIMEOUT:-40000000}" !
          queue ! videoconvert ! ${SINK:-autovideosink})

if $print; then
  printf '%s\n' "${pipeline[@]}"  # one gst-launch argument per line
  exit 0
fi
export GST_PLUGIN_PATH="$here/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
exec gst-launch-1.0 -e "${pipeline[@]}"
