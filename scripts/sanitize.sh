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

scripts/sanitized-build.sh build-asan address,undefined
# Instrumented code runs 2-3x slower: stretch the timeouts. The tools and
# examples suites run too: tests/meson.build preloads the ASan runtime into
# the uninstrumented hosts that load the plugin (gst-launch-1.0, python3).
meson test -C build-asan --print-errorlogs --timeout-multiplier 3 "$@"
