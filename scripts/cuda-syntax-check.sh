#!/usr/bin/env bash
# Compiles the C++ code that only a CUDA build compiles (#ifdef
# GPEN_WITH_CUDA) for syntax and types, on a machine without CUDA: against
# Debian's LibTorch headers (1.13, whose CUDA headers are packaged) and the
# CUDA 11.8 headers of Debian's nvidia-cuda-dev (non-free; the package, 774
# MB, is downloaded into CACHE_DIR, not installed). Catches what would
# otherwise first fail on a borrowed GPU machine, in its time; it checks
# nothing of LibTorch 2.x's API or of the .cu kernels (no nvcc here).
#
#   scripts/cuda-syntax-check.sh [CACHE_DIR]   # default .cuda-headers/ (ignored by git)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=$(realpath -m "${1:-$root/.cuda-headers}")
mkdir -p "$cache"
include=$cache/usr/include
if [ ! -e "$include/cuda_runtime_api.h" ]; then
  apt_state=$cache/apt
  mkdir -p "$apt_state/lists/partial" "$apt_state/cache/archives/partial"
  echo "deb http://deb.debian.org/debian bookworm non-free" > "$apt_state/sources.list"
  apt_opts=(-o Dir::Etc::sourcelist="$apt_state/sources.list" -o Dir::Etc::sourceparts=/dev/null
            -o Dir::State::Lists="$apt_state/lists" -o Dir::Cache="$apt_state/cache")
  apt-get "${apt_opts[@]}" update > /dev/null
  (cd "$apt_state" && apt-get "${apt_opts[@]}" download nvidia-cuda-dev 2> /dev/null)
  dpkg-deb --fsys-tarfile "$apt_state"/nvidia-cuda-dev_*.deb | tar -x -C "$cache" --wildcards './usr/include/*'
  rm -f "$apt_state"/nvidia-cuda-dev_*.deb
fi
# A header that LibTorch's CMake generates and Debian's package leaves out.
stub=$cache/stub/c10/cuda/impl
mkdir -p "$stub"
echo '#pragma once' > "$stub/cuda_cmake_macros.h"

cd "$root"
status=0
for file in $(grep -l 'GPEN_WITH_CUDA' src/*.cpp gst/*.cpp tests/*.cpp tests/stress/*.cpp benchmark/*.cpp tools/*.cpp 2>/dev/null); do
  if c++ -std=c++17 -fsyntax-only -Wall -Wextra -DGPEN_WITH_CUDA=1 '-DGPEN_TEST_DATA_DIR="."' \
       -Isrc -Itests -Igst $(pkg-config --cflags opencv4 gstreamer-video-1.0 gstreamer-app-1.0) \
       -isystem "$cache/stub" -isystem "$include" -isystem /usr/include/torch/csrc/api/include \
       "$file"; then
    echo "ok      $file"
  else
    echo "FAILED  $file"; status=1
  fi
done
exit $status
