#!/usr/bin/env bash
# Configures (or reconfigures) and builds BUILD_DIR with meson's b_sanitize
# set to SANITIZERS; scripts/sanitize.sh and scripts/tsan.sh build with it.
#
#   scripts/sanitized-build.sh BUILD_DIR SANITIZERS    # e.g. build-asan address,undefined
#
# Our code instrumented at -O0 with line tables only: instrumented
# LibTorch-heavy files compile 2-4x faster than at -O1 -g, and the tests' time
# is spent in (uninstrumented) LibTorch anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: sanitized-build.sh BUILD_DIR SANITIZERS}
sanitizers=${2:?usage: sanitized-build.sh BUILD_DIR SANITIZERS}

options=(-Db_sanitize="$sanitizers" -Db_lundef=false -Dbenchmark=disabled
         -Doptimization=0 -Ddebug=false -Dcpp_args=-g1)
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" "${options[@]}"
else
  meson setup "$build" "${options[@]}"
fi
ninja -C "$build"
