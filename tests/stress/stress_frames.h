// Video frames for the stress program: any of the element's formats and any
// size, with row padding or a tight stride through a GstVideoMeta, filled
// with a picture; every byte the element must not touch (alpha or x, row
// padding) is set to kUntouched so that it can be checked on the way out.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <opencv2/core.hpp>

namespace stress {

constexpr std::uint8_t kUntouched = 0xAB;

enum class Content { Face, Scene, Crowd, Blank };

// A face box for a GstVideoRegionOfInterestMeta of type "face"; with
// `landmarks`, a "gpen-face" param carries them.
struct Roi {
  guint x = 0, y = 0, w = 0, h = 0;
  std::vector<double> landmarks;  // 10 values, or none
};

struct FrameSpec {
  std::string format = "RGB";  // RGB, BGR, RGBA, BGRA, RGBx, BGRx
  int width = 64;
  int height = 64;
  // Bytes added to each row past the caps' stride; -1: a tight stride
  // (width * pixel size, not rounded up to 4). Either goes in a GstVideoMeta.
  int stride_pad = 0;
  Content content = Content::Face;
  std::vector<Roi> rois;

  std::string describe() const;
};

class FramePainter {
 public:
  // Reads the pictures from the test data folder (tests/data).
  explicit FramePainter(const std::string& data_dir);

  // The caps of frames made from `spec` (its format, size, 25 fps).
  static GstCaps* caps(const FrameSpec& spec);

  // A new frame: id in GST_BUFFER_OFFSET, timestamps as given.
  GstBuffer* make(const FrameSpec& spec, std::uint64_t id, GstClockTime pts,
                  GstClockTime duration);

  // Whether a frame that went through the element still has every byte it
  // must not touch, and its size; `caps` are the frame's caps. Says why not.
  static bool intact(GstBuffer* buffer, GstCaps* caps, std::string* why);

 private:
  const cv::Mat& picture(Content content, int width, int height);

  std::map<Content, cv::Mat> sources_;  // RGB
  std::map<std::tuple<Content, int, int>, cv::Mat> scaled_;
};

}  // namespace stress
