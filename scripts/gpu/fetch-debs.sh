#!/usr/bin/env bash
# Downloads (never installs) the Debian 12 packages that a CUDA machine with a
# PyTorch wheel but no GStreamer, OpenCV, GoogleTest or pkg-config needs to
# build and test gst-gpen. Run it on any Debian 12 machine with apt; carry the
# folder to the CUDA machine and run scripts/gpu/build.sh there.
#
#   scripts/gpu/fetch-debs.sh [DEST]        # default DEST: .gpu/debs
set -euo pipefail
dest=${1:-.gpu/debs}

packages=(
  # pkg-config, for meson
  pkgconf-bin libpkgconf3
  # GoogleTest (static libraries and headers)
  libgtest-dev
  # OpenCV: only the modules the project links (core, imgproc, objdetect) and
  # what they load. imgcodecs is left out on purpose: Debian's pulls in GDAL
  # and about 100 other libraries (55 MiB); the test data are PNGs, which
  # build.sh serves with scripts/gpu/png_imgcodecs.cpp over libpng (the
  # tests that need other formats skip there).
  libopencv-core406 libopencv-imgproc406 libopencv-objdetect406
  libopencv-calib3d406 libopencv-dnn406 libopencv-features2d406 libopencv-flann406
  libopencv-core-dev libopencv-imgproc-dev libopencv-objdetect-dev libopencv-imgcodecs-dev
  libprotobuf32 libtbb12 libblas3 liblapack3 libgfortran5 libquadmath0
  libglx0 libglvnd0 libx11-6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0
  libpng16-16 libpng-dev
  # The Haar cascades of the fallback face detector (with-deps.sh points
  # GPEN_CASCADE_DIR at them)
  opencv-data
  # GStreamer, its base libraries and the plugins the element tests use
  # (videoconvert from -base; pngdec, pngenc, multifilesrc/sink from -good)
  libgstreamer1.0-0 libgstreamer1.0-dev
  libgstreamer-plugins-base1.0-0 libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  # gst-launch-1.0, which the examples' scripts run
  gstreamer1.0-tools
  libglib2.0-0 libglib2.0-dev liborc-0.4-0 libunwind8 libdw1 libelf1 libcap2
  libffi8 libpcre2-8-0 libmount1 libblkid1 libselinux1
)

mkdir -p "$dest"
cd "$dest"
apt-get download "${packages[@]}"
du -sh .
