#!/usr/bin/env bash
# N (default 30) 1920x1080 JPEG portraits for the end-to-end benchmark
# (docs/pipeline.md): a test face (three FFHQ faces from the shared test
# data, $GPEN_TESTDATA or ../shared/testdata beside the project, when there;
# and tests/data/images/astronaut.png) 520-920 px wide in front of a part of the 1927 Solvay
# photograph scaled up, so that each picture has a large face and six or so
# people behind it, as a portrait taken at a gathering has; the cascade finds
# about 220 faces in 30 of them. Deterministic: the same files every time.
#
#   scripts/make-portraits.sh OUT_DIR [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: make-portraits.sh OUT_DIR [N]}
count=${2:-30}
images=$root/tests/data/images
shared=${GPEN_TESTDATA:-$root/../shared/testdata}
mkdir -p "$out"
faces=("$images/astronaut.png")
if [ -f "$shared/ffhq_00001.png" ]; then
  faces=("$shared/ffhq_00001.png" "$shared/ffhq_00002.png" "$shared/ffhq_00004.png" "$images/astronaut.png")
fi
for i in $(seq 0 $((count - 1))); do
  face=${faces[$((i % ${#faces[@]}))]}
  size=$((520 + (i * 37) % 400))
  x=$(((i * 131) % (1920 - size))) y=$(((i * 53) % (1080 - size)))
  # A 520x290 window of the 1328x568 group photograph.
  left=$(((i * 97) % 800)) top=$(((i * 41) % 270))
  right=$((1328 - 520 - left)) bottom=$((568 - 290 - top))
  gst-launch-1.0 -q compositor name=c sink_1::xpos=$x sink_1::ypos=$y ! videoconvert ! \
    jpegenc quality=90 ! filesink location="$out/portrait_$(printf %02d "$i").jpg" \
    filesrc location="$images/solvay_1927.png" ! pngdec ! videoconvert ! \
    videocrop left=$left right=$right top=$top bottom=$bottom ! videoscale ! \
    video/x-raw,width=1920,height=1080 ! c.sink_0 \
    filesrc location="$face" ! pngdec ! videoconvert ! videoscale ! \
    video/x-raw,width=$size,height=$size ! c.sink_1
done
