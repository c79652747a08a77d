#!/usr/bin/env bash
# The benchmark tables of docs/gpu.md, on a build made by build.sh:
#
#   scripts/gpu/bench-all.sh [BUILD_DIR] [LOG_DIR]
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-cuda}
logs=${2:-$build/bench-logs}
mkdir -p "$logs"
bench() {
  local name=$1
  shift
  echo "## gpen-benchmark $*"
  "$root/scripts/gpu/with-deps.sh" --build "$build" "$build/benchmark/gpen-benchmark" "$@" 2>&1 |
    tee "$logs/$name.md"
}
# The network: every precision and batch size, with and without CUDA graphs,
# and the reference's way as the baseline.
bench network --arch gpen-512 --device cuda --graphs both
# The fast path's gain over the exact (op by op) path on the same device.
bench exact --arch gpen-512 --device cuda --precision fp16,fp32 --batches 32 --path exact --graphs off --baseline off
# Aligned faces in host memory: upload, resize, network, blend, download.
bench aligned --arch gpen-512 --device cuda --precision fp16,bf16 --batches 8,16,32,64 --mode aligned --baseline off
# 1920x1080 frames, one face each: detection, alignment, network, paste-back.
bench frames --arch gpen-512 --device cuda --precision fp16 --batches 8,16,32 --mode frames --frames 128 --baseline off
# The same with decoding included: a 1920x1080 PNG decoded again for every frame.
frame=$logs/frame-1080p.png
"$root/scripts/gpu/make-frame.sh" "$frame" "$build"
bench frames-decode --arch gpen-512 --device cuda --precision fp16 --batches 8,16,32 --mode frames --frames 256 --baseline off --input "$frame"
