#!/usr/bin/env bash
# Restores the faces in a video and keeps its sound.
#
#   examples/enhance-video.sh holiday.mp4 holiday-restored.mp4
#   examples/enhance-video.sh --no-audio cctv.mkv cctv-restored.mkv   # a video without sound
#
# H.264 in MP4 when x264enc (gstreamer1.0-plugins-ugly) or nvh264enc is
# installed, else VP9 in Matroska (the output name then ends in .mkv). The
# audio is decoded and encoded again (Opus, or AAC/MP3 in MP4); gpen-enhance
# passes it through untouched when the container takes it, and handles files
# with or without sound by itself: build/tools/gpen-enhance holiday.mp4 -o out/
#
# GPU decoding: with the nvcodec plugin (gstreamer1.0-plugins-bad and an
# NVIDIA driver), decodebin picks nvh264dec/nvh265dec by itself; nvh264enc
# is used when present (data-centre GPUs such as the H100 have NVDEC but no
# NVENC: there x264enc encodes on the CPU).
#
# Environment: GPEN_MODEL, GPEN_DETECTOR_MODEL, GPEN_DEVICE, GPEN_BATCH_SIZE
# as in enhance-photos.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
audio=true
if [ "${1:-}" = --no-audio ]; then audio=false; shift; fi
input="${1:?input video}"
# gst-launch cannot leave out a branch for a stream that is not there (the
# muxer would wait for sound forever): ask gst-discoverer-1.0 when it is
# installed (gstreamer1.0-plugins-base-apps), else trust --no-audio.
if $audio && command -v gst-discoverer-1.0 >/dev/null &&
   ! gst-discoverer-1.0 "$input" 2>/dev/null | grep -q "audio:"; then
  audio=false
fi
output="${2:?output video, e.g. out.mp4}"
model="${GPEN_MODEL:-$here/models/GPEN-BFR-512.pth}"
detector_model="${GPEN_DETECTOR_MODEL:-$here/models/RetinaFace-R50.pth}"

have() { gst-inspect-1.0 "$1" >/dev/null 2>&1; }
if have nvh264enc; then
  video_encoder="nvh264enc ! h264parse"
elif have x264enc; then
  video_encoder="x264enc pass=qual quantizer=18 ! h264parse"
fi
if [ -n "${video_encoder:-}" ] && { have avenc_aac || have lamemp3enc; }; then
  muxer=mp4mux
  audio_encoder=$(have avenc_aac && echo avenc_aac || echo lamemp3enc)
else
  video_encoder="vp9enc end-usage=cq cq-level=10 deadline=1 cpu-used=4"
  audio_encoder=opusenc
  muxer=matroskamux
  case "$output" in *.mkv) ;; *) output="${output%.*}.mkv"; echo "writing $output (VP9 in Matroska)" ;; esac
fi

detector=()
[ -f "$detector_model" ] && detector=(detector-model="$detector_model")
sound=()
if $audio; then
  sound=(d. ! queue ! audioconvert ! audioresample ! $audio_encoder ! queue ! mux.)
fi
export GST_PLUGIN_PATH="$here/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
# A queue after each stage: decoding, the network and encoding each run in
# their own thread; the first one holds a batch of frames while GPEN runs.
# shellcheck disable=SC2086  # the encoders' words are element and properties
exec gst-launch-1.0 -e \
  filesrc location="$input" ! decodebin name=d \
  d. ! queue max-size-buffers=64 max-size-bytes=0 max-size-time=0 ! videoconvert ! \
    gpenenhance model="$model" "${detector[@]}" device="${GPEN_DEVICE:-auto}" \
      batch-size="${GPEN_BATCH_SIZE:-0}" ! \
    queue ! videoconvert ! $video_encoder ! queue ! mux. \
  "${sound[@]}" \
  $muxer name=mux ! filesink location="$output"
