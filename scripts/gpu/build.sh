#!/usr/bin/env bash
# Builds gst-gpen with CUDA on a machine that has a PyTorch wheel (with CUDA)
# and a C++ compiler but no GStreamer, OpenCV, GoogleTest or pkg-config: it
# unpacks the Debian 12 packages that scripts/gpu/fetch-debs.sh downloaded
# into a private prefix (never into /), points pkg-config at them, and
# configures against the wheel's LibTorch.
#
#   scripts/gpu/build.sh DEBS_DIR [BUILD_DIR] [-- extra meson options]
#   scripts/gpu/with-deps.sh meson test -C BUILD_DIR --print-errorlogs
#
# Environment: GPEN_DEPS (prefix to unpack into, default /tmp/gpen-deps),
# PYTHON (default python3, the one whose torch to build against),
# LIBTORCH_PREFIX and LIBTORCH_CXX11_ABI (0 or 1: another LibTorch instead
# of the wheel's; scripts/gpu/rehearse.sh), NINJA_TARGETS (default:
# everything).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
debs=$(cd "${1:?usage: build.sh DEBS_DIR [BUILD_DIR] [-- meson options]}" && pwd)
shift
build=$root/build-cuda
if [ $# -gt 0 ] && [ "$1" != "--" ]; then build=$1; shift; fi
[ "${1:-}" = "--" ] && shift
prefix=${GPEN_DEPS:-/tmp/gpen-deps}
python=${PYTHON:-python3}

# 1. Unpack the packages and make their pkg-config files point at the prefix.
#    Requires.private names -dev packages not carried; they matter only to
#    static links, and pkgconf would refuse the lookup without them.
mkdir -p "$prefix"
for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$prefix"; done
lib=$prefix/usr/lib/x86_64-linux-gnu
for pc in "$lib"/pkgconfig/*.pc "$prefix"/usr/share/pkgconfig/*.pc; do
  [ -f "$pc" ] || continue
  sed -i -e "s#=/usr#=$prefix/usr#g" -e "s#-I/usr/#-I$prefix/usr/#g" -e "s#-L/usr/#-L$prefix/usr/#g" \
    -e "/^Requires.private:/d" "$pc"
done

# 2. OpenCV: Debian's opencv4.pc names every module; write one for the
#    modules the project uses. imgcodecs (PNG reading in the tests) is the
#    libpng-based stand-in unless a real one was carried; the stand-in is
#    built again when its source is newer.
standin=$root/scripts/gpu/png_imgcodecs.cpp
if [ ! -e "$lib/libopencv_imgcodecs.so.406" ] ||
   { [ -e "$lib/.png_imgcodecs" ] && [ "$standin" -nt "$lib/libopencv_imgcodecs.so.406" ]; }; then
  g++ -std=c++17 -O2 -fPIC -shared -Wall -Wextra "$standin" \
    -I"$prefix/usr/include/opencv4" -I"$prefix/usr/include/x86_64-linux-gnu/opencv4" \
    -I"$prefix/usr/include/libpng16" -L"$lib" -Wl,-rpath-link,"$lib" \
    -lopencv_core -l:libpng16.so.16 -Wl,-soname,libopencv_imgcodecs.so.406 \
    -o "$lib/libopencv_imgcodecs.so.406"
  ln -sf libopencv_imgcodecs.so.406 "$lib/libopencv_imgcodecs.so"
  touch "$lib/.png_imgcodecs"
fi
cat > "$lib/pkgconfig/opencv4.pc" <<EOF
prefix=$prefix/usr
libdir=\${prefix}/lib/x86_64-linux-gnu
includedir=\${prefix}/include/opencv4
Name: OpenCV
Description: OpenCV core, imgproc, objdetect and imgcodecs (carried for gst-gpen)
Version: 4.6.0
Libs: -L\${libdir} -lopencv_objdetect -lopencv_imgcodecs -lopencv_imgproc -lopencv_core
Cflags: -I\${includedir} -I\${prefix}/include/x86_64-linux-gnu/opencv4
EOF

# 3. A pkg-config that sees only the prefix.
mkdir -p "$prefix/bin"
cat > "$prefix/bin/pkg-config" <<EOF
#!/bin/sh
LD_LIBRARY_PATH=$lib exec $prefix/usr/bin/pkgconf "\$@"
EOF
chmod +x "$prefix/bin/pkg-config"

# 4. Configure against the wheel's LibTorch, in its C++ ABI, and build.
if [ -n "${LIBTORCH_PREFIX:-}" ]; then
  torch=$LIBTORCH_PREFIX
  abi=${LIBTORCH_CXX11_ABI:-1}
else
  torch=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
  abi=$("$python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
fi
link_dirs="$lib:$lib/blas:$lib/lapack:$prefix/lib/x86_64-linux-gnu"
export PKG_CONFIG="$prefix/bin/pkg-config"
export PKG_CONFIG_LIBDIR="$lib/pkgconfig:$prefix/usr/share/pkgconfig"
export CXXFLAGS="${CXXFLAGS:-} -D_GLIBCXX_USE_CXX11_ABI=$abi"
export LDFLAGS="${LDFLAGS:-} -Wl,-rpath-link,$link_dirs"
# The environment to run what is built (scripts/gpu/with-deps.sh reads it),
# written first so that the targets that did build can run if one fails.
mkdir -p "$build"
cat > "$build/gpu-deps.env" <<EOF
export LD_LIBRARY_PATH=$link_dirs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export PATH=\$PATH:$prefix/usr/bin
export GST_PLUGIN_SYSTEM_PATH=$lib/gstreamer-1.0
export GST_PLUGIN_SCANNER=$lib/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner
export GPEN_CASCADE_DIR=$prefix/usr/share/opencv4/haarcascades
EOF
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" -Dlibtorch_prefix="$torch" "$@"
else
  meson setup "$build" -Dlibtorch_prefix="$torch" "$@"
fi
# NINJA_TARGETS (e.g. benchmark/gpen-benchmark) builds only those.
# shellcheck disable=SC2086
ninja -C "$build" ${NINJA_TARGETS:-}

echo "build.sh: built $build against $torch (C++11 ABI $abi)"
