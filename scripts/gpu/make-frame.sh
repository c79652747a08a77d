#!/usr/bin/env bash
# A 1920x1080 PNG with the test photograph in the middle: the frame that the
# benchmark decodes again for every frame (--mode frames --input), made with
# the GStreamer that scripts/gpu/build.sh unpacked for BUILD_DIR:
#
#   scripts/gpu/make-frame.sh OUT.png [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: make-frame.sh OUT.png [BUILD_DIR]}
build=${2:-$root/build-cuda}
"$root/scripts/gpu/with-deps.sh" --build "$build" gst-launch-1.0 -q \
  filesrc location="$root/tests/data/images/astronaut.png" ! pngdec ! videoconvert ! \
  videoscale ! video/x-raw,width=1080,height=1080 ! videobox left=-420 right=-420 ! \
  videoconvert ! pngenc ! filesink location="$out"
