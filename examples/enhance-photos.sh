#!/usr/bin/env bash
# Restores the faces in a numbered series of photos (scans/0001.jpg, ...):
# full frames, faces found, restored and pasted back.
#
#   examples/enhance-photos.sh 'scans/%04d.jpg' 'restored/%04d.jpg'
#
# The patterns' extensions choose the decoder and encoder (jpg/jpeg or png).
# Photos of any names, folders, and other formats: use gpen-enhance instead
# (build/tools/gpen-enhance scans -o restored), which also skips broken files.
#
# Environment: GPEN_MODEL (default models/GPEN-BFR-512.pth), GPEN_DETECTOR_MODEL
# (default models/RetinaFace-R50.pth when it is there, else the cascade),
# GPEN_DEVICE (default auto), GPEN_BATCH_SIZE (default 0: automatic).
#
# multifilesrc reads one file per buffer; the decoder renegotiates when a
# photo's size changes. The queues put decoding, the network and encoding
# in three threads.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
input="${1:?input pattern, e.g. scans/%04d.jpg}"
output="${2:?output pattern, e.g. restored/%04d.jpg}"
model="${GPEN_MODEL:-$here/models/GPEN-BFR-512.pth}"
detector_model="${GPEN_DETECTOR_MODEL:-$here/models/RetinaFace-R50.pth}"

codec() {  # the decoder or encoder for a pattern's extension
  case "${1,,}" in
    *.jpg|*.jpeg) echo "image/jpeg jpegdec jpegenc quality=95" ;;
    *.png) echo "image/png pngdec pngenc" ;;
    *) echo "examples/enhance-photos.sh: $1: use .jpg or .png (gpen-enhance reads more formats)" >&2; exit 2 ;;
  esac
}
read -r caps decoder _ <<<"$(codec "$input")"
read -r _ _ encoder <<<"$(codec "$output")"

detector=()
[ -f "$detector_model" ] && detector=(detector-model="$detector_model")
mkdir -p "$(dirname "$output")"
export GST_PLUGIN_PATH="$here/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
# shellcheck disable=SC2086  # $encoder holds the element and its properties
exec gst-launch-1.0 -e \
  multifilesrc location="$input" caps="$caps" ! "$decoder" ! videoconvert ! queue ! \
  gpenenhance model="$model" "${detector[@]}" device="${GPEN_DEVICE:-auto}" \
    batch-size="${GPEN_BATCH_SIZE:-0}" ! \
  queue ! videoconvert ! $encoder ! multifilesink location="$output"
