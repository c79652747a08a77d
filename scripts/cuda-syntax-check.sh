#!/usr/bin/env bash
# Checks the CUDA-only code on a machine without CUDA, before a GPU session
# spends its time on it:
#
# 1. the C++ that only a CUDA build compiles (#ifdef GPEN_WITH_CUDA) for
#    syntax and types, against Debian's LibTorch headers (1.13, whose CUDA
#    headers are packaged) and the CUDA 11.8 headers of Debian's
#    nvidia-cuda-dev;
# 2. the kernels (src/cuda/*.cu), compiled by Debian's nvcc 11.8 for every
#    architecture the build names (meson_options.txt) as the build compiles
#    them, with ptxas's registers and spills per kernel for sm_90.
#
# The packages are non-free and large (nvidia-cuda-dev 774 MB,
# nvidia-cuda-toolkit and libnvvm4 92 MB): downloaded into CACHE_DIR, never
# installed. nvcc 11.8 takes clang 14 or g++ 11 as its host compiler (Debian
# 12: apt-get install clang-14). Nothing of LibTorch 2.x's API (the wheel's)
# is checked, nor anything the kernels compute (tests/test_kernel_emulation
# runs the epilogue's device code on the CPU; test_cuda on a GPU).
#
#   scripts/cuda-syntax-check.sh [CACHE_DIR]   # default .cuda-headers/ (ignored by git)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/nvcc-host.sh"
cache=$(realpath -m "${1:-$root/.cuda-headers}")
mkdir -p "$cache"
include=$cache/usr/include
toolkit=$cache/usr/lib/nvidia-cuda-toolkit

apt_state=$cache/apt
apt_opts=(-o Dir::Etc::sourcelist="$apt_state/sources.list" -o Dir::Etc::sourceparts=/dev/null
          -o Dir::State::Lists="$apt_state/lists" -o Dir::Cache="$apt_state/cache")
fetch() {  # fetch PACKAGE...: download and unpack into the cache
  mkdir -p "$apt_state/lists/partial" "$apt_state/cache/archives/partial"
  echo "deb http://deb.debian.org/debian bookworm non-free" > "$apt_state/sources.list"
  [ -n "$(ls "$apt_state/lists" 2> /dev/null | grep -v partial)" ] || apt-get "${apt_opts[@]}" update > /dev/null
  (cd "$apt_state" && apt-get "${apt_opts[@]}" download "$@" 2> /dev/null)
  for package in "$@"; do
    dpkg-deb -x "$apt_state/${package}"_*.deb "$cache"
    rm -f "$apt_state/${package}"_*.deb
  done
}
[ -e "$include/cuda_runtime_api.h" ] || fetch nvidia-cuda-dev
[ -x "$toolkit/bin/nvcc" ] && [ -e "$toolkit/libdevice/libdevice.10.bc" ] || fetch nvidia-cuda-toolkit libnvvm4
# Debian's nvcc.profile points into /usr; this one into the cache.
rm -f "$toolkit/bin/nvcc.profile"
cat > "$toolkit/bin/nvcc.profile" << EOF
NVVMIR_LIBRARY_DIR = \$(_HERE_)/../libdevice
PATH += \$(_HERE_):\$(_HERE_)/../../../bin:
INCLUDES += "-I$include" \$(_SPACE_)
EOF
# A header that LibTorch's CMake generates and Debian's package leaves out.
stub=$cache/stub/c10/cuda/impl
mkdir -p "$stub"
echo '#pragma once' > "$stub/cuda_cmake_macros.h"

cd "$root"
status=0
echo "== C++ with GPEN_WITH_CUDA (syntax and types)"
for file in $(grep -l 'GPEN_WITH_CUDA' $(find src -name '*.cpp') gst/*.cpp tests/*.cpp tests/stress/*.cpp benchmark/*.cpp tools/*.cpp 2>/dev/null); do
  if c++ -std=c++17 -fsyntax-only -Wall -Wextra -DGPEN_WITH_CUDA=1 -DGPEN_WITH_CUDA_KERNELS=1 \
       '-DGPEN_TEST_DATA_DIR="."' \
       -Isrc -Itests -Igst $(pkg-config --cflags opencv4 gstreamer-video-1.0 gstreamer-app-1.0) \
       -isystem "$cache/stub" -isystem "$include" -isystem /usr/include/torch/csrc/api/include \
       "$file"; then
    echo "ok      $file"
  else
    echo "FAILED  $file"; status=1
  fi
done

echo "== kernels (nvcc 11.8)"
host=$(nvcc_host_compiler) || { echo "FAILED  no host compiler for nvcc"; exit 1; }
# The architectures of meson_options.txt's gpu_architectures default.
archs=$(sed -n "s/^option('gpu_architectures'.*value: \[\([^]]*\)\].*/\1/p" meson_options.txt | tr -d "' " | tr ',' ' ')
gencode=()
for arch in $archs; do gencode+=("-gencode=arch=compute_$arch,code=sm_$arch"); done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for file in src/cuda/*.cu; do
  base=$(basename "$file" .cu)
  if "$toolkit/bin/nvcc" -ccbin "$host" -std=c++17 -O3 --threads=0 -Isrc -c "$file" -o "$work/$base.o" -Xcompiler=-fPIC \
       "${gencode[@]}" -Xptxas -v 2> "$work/$base.log"; then
    echo "ok      $file (sm_${archs// /, sm_})"
    # Registers and spills per kernel on sm_90 (the H100's), one line each.
    awk '/Compiling entry function/ && /sm_90/ {name=$0; sub(/.*function ./, "", name); sub(/. for .*/, "", name)}
         /Function properties for/ {props=1; next}
         props && /stack frame/ {spill=$5; props=0}
         /Used [0-9]+ registers/ && name != "" {print $5 " registers, " spill " bytes spilled  " name; name=""}' \
      "$work/$base.log" | c++filt | sed -e 's/gpen::cuda::\([a-z_]*::\)\?//' -e 's/(gpen::cuda::[A-Za-z]*)//' \
      -e 's/__nv_bfloat16/bf16/; s/__half/f16/' | sed 's/(anonymous namespace):://' | sort -u | sort -n -s -k1,1 | sed 's/^/        /'
  else
    cat "$work/$base.log"; echo "FAILED  $file"; status=1
  fi
done
exit $status
