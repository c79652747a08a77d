#!/usr/bin/env bash
# Runs a command with the libraries and GStreamer plugins that
# scripts/gpu/build.sh unpacked, for a build made by it:
#
#   scripts/gpu/with-deps.sh [--build BUILD_DIR] meson test -C build-cuda --print-errorlogs
#   scripts/gpu/with-deps.sh build-cuda/benchmark/gpen-benchmark --device cuda
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-cuda
if [ "${1:-}" = "--build" ]; then build=$2; shift 2; fi
# shellcheck source=/dev/null
source "$build/gpu-deps.env"
exec "$@"
