#!/usr/bin/env bash
# Sets up gst-gpen on Debian 12: installs the Debian packages it builds on
# (when missing), then configures and builds into ./build.
#
#   ./setup.sh                                  # Debian's LibTorch (CPU)
#   ./setup.sh -Dlibtorch_prefix=/path/to/torch # another LibTorch, e.g. with CUDA
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  build-essential pkg-config meson ninja-build
  libtorch-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-tools
  libopencv-dev opencv-data
  libgtest-dev
  # The Python example and its test (GObject introspection for GStreamer).
  python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  # The Kubernetes example's test reads its manifest.
  python3-yaml
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

if [ -f build/build.ninja ]; then
  meson setup --reconfigure build "$@"
else
  meson setup build "$@"
fi
ninja -C build
