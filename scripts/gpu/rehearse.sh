#!/usr/bin/env bash
# Rehearses a GPU session on a Debian 12 machine without a GPU, so that what
# would fail there for want of something carried fails here first, at no cost
# of device time: builds as scripts/gpu/build.sh does on the GPU machine, from
# the carried packages alone (OpenCV's modules, the PNG-only imgcodecs
# stand-in, GStreamer and its plugins, with-deps.sh's environment), but
# against Debian's LibTorch (libtorch-dev, CPU only) where the wheel's would
# be, then runs scripts/gpu/check.sh's steps on that build.
#
#   scripts/gpu/rehearse.sh DEBS_DIR LOG_DIR [benchmark options]
#
# STEPS (default "build test") as check.sh's; the benchmark steps need their
# options for the CPU (--device cpu, small batches). The build goes to
# build-rehearsal (GPEN_BUILD_DIR), the packages to /tmp/gpen-deps-rehearsal
# (GPEN_DEPS). The CUDA tests skip. Not rehearsed: the wheel's LibTorch 2.x
# and CUDA code (scripts/cuda-syntax-check.sh checks that code here), and the
# GPU machine's own system libraries: what the carried libraries link beyond
# the packages comes from this machine's /usr/lib here.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
debs=$(cd "${1:?usage: rehearse.sh DEBS_DIR LOG_DIR [benchmark options]}" && pwd)
mkdir -p "${2:?usage: rehearse.sh DEBS_DIR LOG_DIR [benchmark options]}"
logs=$(cd "$2" && pwd)
shift 2
system_lib=/usr/lib/x86_64-linux-gnu
[ -e "$system_lib/libtorch_cpu.so" ] && [ -d /usr/include/torch ] ||
  { echo "rehearse.sh: needs Debian's libtorch-dev (./setup.sh installs it)" >&2; exit 1; }

# Debian's LibTorch laid out as a wheel's torch/ folder (include/, lib/).
export GPEN_DEPS=${GPEN_DEPS:-/tmp/gpen-deps-rehearsal}
torch=$GPEN_DEPS/libtorch-debian
mkdir -p "$torch/include" "$torch/lib"
for dir in ATen c10 caffe2 torch; do ln -sfn "/usr/include/$dir" "$torch/include/$dir"; done
ln -sf "$system_lib"/libtorch.so* "$system_lib"/libtorch_cpu.so* "$system_lib"/libc10.so* "$torch/lib/"
export LIBTORCH_PREFIX=$torch LIBTORCH_CXX11_ABI=1
export GPEN_BUILD_DIR=${GPEN_BUILD_DIR:-build-rehearsal}
STEPS=${STEPS:-build test} exec "$root/scripts/gpu/check.sh" "$debs" "$logs" "$@"
