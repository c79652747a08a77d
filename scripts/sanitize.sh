#!/usr/bin/env bash
# Builds gst-gpen with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ (our code instrumented; LibTorch, GStreamer and OpenCV are not)
# and runs the whole test suite there. Any sanitizer report fails its test:
# tests/meson.build sets halt_on_error and leak detection for sanitized
# builds, with the third-party reports in tests/sanitizers/*.supp silenced
# (each entry says why).
#
#   scripts/sanitize.sh [MESON_TEST_ARGS...]   # e.g. --suite unit
#
# About 20-25 minutes on 2 shared cores from scratch (see docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/.."

# -O0 with line tables only: instrumented LibTorch-heavy files compile 2-4x
# faster than at -O1 -g, and the tests' time is spent in (uninstrumented)
# LibTorch anyway.
options=(-Db_sanitize=address,undefined -Db_lundef=false -Dbenchmark=disabled
         -Doptimization=0 -Ddebug=false -Dcpp_args=-g1)
if [ -f build-asan/build.ninja ]; then
  meson setup --reconfigure build-asan "${options[@]}"
else
  meson setup build-asan "${options[@]}"
fi
ninja -C build-asan
# Instrumented code runs 2-3x slower: stretch the timeouts. The tools and
# examples suites run too: tests/meson.build preloads the ASan runtime into
# the uninstrumented hosts that load the plugin (gst-launch-1.0, python3).
meson test -C build-asan --print-errorlogs --timeout-multiplier 3 "$@"
