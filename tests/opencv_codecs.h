// Which image formats this build's OpenCV reads and writes. Debian's imgcodecs
// has them all; the GPU machine's build (scripts/gpu/build.sh) links a
// PNG-only stand-in where Debian's cannot be carried, and a test that needs
// OpenCV to read or write another format skips or picks PNG there instead of
// failing for want of a codec.
#pragma once

#include <opencv2/imgcodecs.hpp>

#include <string>

namespace gpen_test {

// An encoder for the extension (".jpg"); OpenCV's decoders come with the
// same libraries, and the stand-in has neither for anything but PNG.
inline bool opencv_has_codec(const std::string& extension) {
  return cv::haveImageWriter("probe" + extension);
}

}  // namespace gpen_test
