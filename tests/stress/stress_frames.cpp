#include "stress_frames.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace stress {
namespace {

struct Layout {
  GstVideoInfo info;
  int pixel_bytes = 0;
  int stride = 0;
  bool meta = false;
};

Layout layout_of(const FrameSpec& spec) {
  Layout l;
  const GstVideoFormat format = gst_video_format_from_string(spec.format.c_str());
  if (format == GST_VIDEO_FORMAT_UNKNOWN || !gst_video_info_set_format(&l.info, format, spec.width, spec.height))
    throw std::invalid_argument("bad frame spec " + spec.describe());
  l.pixel_bytes = GST_VIDEO_INFO_COMP_PSTRIDE(&l.info, 0);
  l.stride = spec.stride_pad < 0 ? spec.width * l.pixel_bytes : GST_VIDEO_INFO_PLANE_STRIDE(&l.info, 0) + spec.stride_pad;
  l.meta = spec.stride_pad != 0;
  return l;
}

// Which bytes of a pixel hold R, G and B; the others (alpha, x) are kept.
std::vector<bool> colour_bytes(const GstVideoInfo& info) {
  std::vector<bool> colour(static_cast<std::size_t>(GST_VIDEO_INFO_COMP_PSTRIDE(&info, 0)), false);
  for (int c = 0; c < 3; ++c) colour[static_cast<std::size_t>(GST_VIDEO_INFO_COMP_POFFSET(&info, c))] = true;
  return colour;
}

cv::Mat read_rgb(const std::string& path) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot read " + path);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

GValue double_array(const std::vector<double>& values) {
  GValue array = G_VALUE_INIT;
  gst_value_array_init(&array, static_cast<guint>(values.size()));
  for (double v : values) {
    GValue item = G_VALUE_INIT;
    g_value_init(&item, G_TYPE_DOUBLE);
    g_value_set_double(&item, v);
    gst_value_array_append_and_take_value(&array, &item);
  }
  return array;
}

const char* content_name(Content c) {
  switch (c) {
    case Content::Face: return "face";
    case Content::Scene: return "scene";
    case Content::Crowd: return "crowd";
    case Content::Blank: return "blank";
  }
  return "?";
}

}  // namespace

std::string FrameSpec::describe() const {
  std::string s = format + " " + std::to_string(width) + "x" + std::to_string(height) + " " + content_name(content);
  if (stride_pad < 0) s += " tight-stride";
  if (stride_pad > 0) s += " stride+" + std::to_string(stride_pad);
  if (!rois.empty()) s += " " + std::to_string(rois.size()) + "-rois";
  return s;
}

FramePainter::FramePainter(const std::string& data_dir) {
  sources_[Content::Face] = read_rgb(data_dir + "/gpen-64/gpen-64_in0.png");
  sources_[Content::Scene] = read_rgb(data_dir + "/images/astronaut.png");
  sources_[Content::Crowd] = read_rgb(data_dir + "/images/solvay_1927.png");
  // No face: a smooth gradient.
  cv::Mat blank(64, 64, CV_8UC3);
  for (int y = 0; y < blank.rows; ++y)
    for (int x = 0; x < blank.cols; ++x)
      blank.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(60 + 2 * x), static_cast<uchar>(90 + y), 128);
  sources_[Content::Blank] = blank;
}

const cv::Mat& FramePainter::picture(Content content, int width, int height) {
  const auto key = std::make_tuple(content, width, height);
  auto it = scaled_.find(key);
  if (it == scaled_.end()) {
    cv::Mat scaled;
    cv::resize(sources_.at(content), scaled, cv::Size(width, height), 0, 0, cv::INTER_AREA);
    it = scaled_.emplace(key, scaled).first;
  }
  return it->second;
}

GstCaps* FramePainter::caps(const FrameSpec& spec) {
  return gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, spec.format.c_str(), "width", G_TYPE_INT,
                             spec.width, "height", G_TYPE_INT, spec.height, "framerate", GST_TYPE_FRACTION, 25, 1,
                             nullptr);
}

GstBuffer* FramePainter::make(const FrameSpec& spec, std::uint64_t id, GstClockTime pts, GstClockTime duration) {
  const Layout l = layout_of(spec);
  const gsize size = static_cast<gsize>(l.stride) * static_cast<gsize>(spec.height);
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, size, nullptr);
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_WRITE);
  std::memset(map.data, kUntouched, map.size);
  const cv::Mat& rgb = picture(spec.content, spec.width, spec.height);
  for (int y = 0; y < spec.height; ++y) {
    guint8* row = map.data + static_cast<gsize>(y) * static_cast<gsize>(l.stride);
    for (int x = 0; x < spec.width; ++x) {
      const cv::Vec3b& p = rgb.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) row[x * l.pixel_bytes + GST_VIDEO_INFO_COMP_POFFSET(&l.info, c)] = p[c];
    }
  }
  gst_buffer_unmap(buffer, &map);
  if (l.meta) {
    gsize offsets[GST_VIDEO_MAX_PLANES] = {0};
    gint strides[GST_VIDEO_MAX_PLANES] = {l.stride};
    gst_buffer_add_video_meta_full(buffer, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(&l.info),
                                   static_cast<guint>(spec.width), static_cast<guint>(spec.height), 1, offsets,
                                   strides);
  }
  for (const Roi& r : spec.rois) {
    GstVideoRegionOfInterestMeta* roi = gst_buffer_add_video_region_of_interest_meta(buffer, "face", r.x, r.y, r.w, r.h);
    if (!r.landmarks.empty()) {
      GstStructure* param = gst_structure_new("gpen-face", "score", G_TYPE_DOUBLE, 0.99, nullptr);
      GValue landmarks = double_array(r.landmarks);
      gst_structure_take_value(param, "landmarks", &landmarks);
      gst_video_region_of_interest_meta_add_param(roi, param);
    }
  }
  GST_BUFFER_OFFSET(buffer) = id;
  GST_BUFFER_PTS(buffer) = pts;
  GST_BUFFER_DURATION(buffer) = duration;
  return buffer;
}

bool FramePainter::intact(GstBuffer* buffer, GstCaps* caps, std::string* why) {
  GstVideoInfo info;
  if (!caps || !gst_video_info_from_caps(&info, caps)) {
    *why = "no video caps";
    return false;
  }
  const GstVideoMeta* meta = gst_buffer_get_video_meta(buffer);
  const int width = GST_VIDEO_INFO_WIDTH(&info), height = GST_VIDEO_INFO_HEIGHT(&info);
  const int pixel_bytes = GST_VIDEO_INFO_COMP_PSTRIDE(&info, 0);
  const gsize offset = meta ? meta->offset[0] : 0;
  const int stride = meta ? meta->stride[0] : GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
  const gsize needed = offset + static_cast<gsize>(stride) * static_cast<gsize>(height);
  if (gst_buffer_get_size(buffer) < needed) {
    *why = "buffer of " + std::to_string(gst_buffer_get_size(buffer)) + " bytes, " + std::to_string(needed) + " needed";
    return false;
  }
  const std::vector<bool> colour = colour_bytes(info);
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    *why = "cannot map";
    return false;
  }
  bool ok = true;
  for (int y = 0; y < height && ok; ++y) {
    const guint8* row = map.data + offset + static_cast<gsize>(y) * static_cast<gsize>(stride);
    for (int i = 0; i < stride && ok; ++i) {
      const bool pixel = i < width * pixel_bytes;
      if ((!pixel || !colour[static_cast<std::size_t>(i % pixel_bytes)]) && row[i] != kUntouched) {
        *why = "byte " + std::to_string(i) + " of row " + std::to_string(y) + (pixel ? " (alpha or x)" : " (padding)") +
               " changed to " + std::to_string(row[i]);
        ok = false;
      }
    }
  }
  gst_buffer_unmap(buffer, &map);
  return ok;
}

}  // namespace stress
