#!/usr/bin/env bash
# Enhances every aligned face (FFHQ layout) in a folder of numbered PNGs.
#
#   examples/enhance-aligned-folder.sh faces/%05d.png out/%05d.png [models/GPEN-BFR-512.pth]
#
# GPEN_DEVICE chooses the device (default auto).
#
# Decoding and encoding run in their own threads (the queues), so the network
# is never waiting on PNG work.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
input="${1:?input pattern, e.g. faces/%05d.png}"
output="${2:?output pattern, e.g. out/%05d.png}"
model="${3:-$here/models/GPEN-BFR-512.pth}"
mkdir -p "$(dirname "$output")"
export GST_PLUGIN_PATH="$here/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
exec gst-launch-1.0 -e \
  multifilesrc location="$input" caps=image/png ! pngdec ! videoconvert ! queue ! \
  gpenenhance model="$model" face-mode=aligned batch-size=8 device="${GPEN_DEVICE:-auto}" ! \
  queue ! videoconvert ! pngenc ! multifilesink location="$output"
