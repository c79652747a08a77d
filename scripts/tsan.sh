#!/usr/bin/env bash
# Builds gst-gpen with ThreadSanitizer into build-tsan/ (our code
# instrumented; LibTorch, GLib, GStreamer and OpenCV are not) and runs the
# element tests and the stress programs there: the code where threads meet
# (the streaming thread, the batch-timeout thread, applications setting
# properties and sending queries).
#
#   scripts/tsan.sh [MESON_TEST_ARGS...]   # default: --suite element --suite stress
#
# tests/meson.build preloads gsync-tsan (tests/sanitizers/gsync_tsan.cpp:
# GLib's GMutex and GCond on pthreads, so that GST_OBJECT_LOCK and friends are
# seen), runs LibTorch on one OpenMP thread, and makes any report fail its
# test (halt_on_error) but those in tests/sanitizers/tsan.supp, which lists
# library-internal reports only, each with its reason. See
# docs/reliability.md for what it found and how long it takes.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/sanitized-build.sh build-tsan thread
if [ $# -eq 0 ]; then
  set -- --suite element --suite stress
fi
# Instrumented code runs 5-15x slower: stretch the timeouts.
meson test -C build-tsan --print-errorlogs --timeout-multiplier 4 "$@"
