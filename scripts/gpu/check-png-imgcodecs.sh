#!/usr/bin/env bash
# On a Debian machine with libopencv-dev and libpng-dev: checks that
# png_imgcodecs.cpp reads every PNG of tests/data (and synthesised ones) to the
# same pixels as OpenCV's cv::imread (and from memory as cv::imdecode), that what its cv::imwrite writes
# OpenCV reads back unchanged, and that it says which formats it has.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags="-std=c++17 -O1 -Wall -Wextra $(pkg-config --cflags opencv4 libpng)"
g++ $flags -Dimread=png_imread -Dimwrite=png_imwrite -Dimdecode=png_imdecode \
  -DhaveImageReader=png_haveImageReader -DhaveImageWriter=png_haveImageWriter -c "$root/scripts/gpu/png_imgcodecs.cpp" -o "$work/png.o"
g++ $flags "$root/scripts/gpu/check_png_imgcodecs.cpp" "$work/png.o" -o "$work/check" \
  -lopencv_imgcodecs -lopencv_core $(pkg-config --libs libpng)
"$work/check" "$work" "$root"/tests/data/*/*.png 2> >(grep -v 'iCCP: known incorrect' >&2) | tail -n 1
