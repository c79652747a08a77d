#include "scaling.h"

#include <gst/video/video.h>

#include <algorithm>
#include <cmath>

#include "gst_ptr.h"

namespace gpen_tools {

namespace {

struct Limit {
  GstElement* capsfilter;  // owned by the pipeline, which outlives the probe
  int max_size;
};

GstPadProbeReturn on_caps(GstPad* /*pad*/, GstPadProbeInfo* info, gpointer data) {
  GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS) return GST_PAD_PROBE_OK;
  const auto* limit = static_cast<const Limit*>(data);
  GstCaps* caps = nullptr;
  gst_event_parse_caps(event, &caps);
  GstVideoInfo in;
  if (!gst_video_info_from_caps(&in, caps)) return GST_PAD_PROBE_OK;
  const int long_side = std::max(in.width, in.height);
  CapsPtr wanted(gst_caps_new_empty_simple("video/x-raw"));
  if (long_side > limit->max_size) {
    const double scale = static_cast<double>(limit->max_size) / long_side;
    // Even sizes: most video encoders need them, and images do not mind.
    auto side = [&](int pixels) {
      return std::max(2, static_cast<int>(std::lround(pixels * scale / 2.0)) * 2);
    };
    gst_caps_set_simple(wanted.get(), "width", G_TYPE_INT, side(in.width), "height", G_TYPE_INT,
                        side(in.height), "pixel-aspect-ratio", GST_TYPE_FRACTION, in.par_n,
                        in.par_d, nullptr);
  }
  g_object_set(limit->capsfilter, "caps", wanted.get(), nullptr);
  return GST_PAD_PROBE_OK;
}

}  // namespace

void limit_long_side(GstElement* videoscale, GstElement* capsfilter, int max_size) {
  PadPtr sink(gst_element_get_static_pad(videoscale, "sink"));
  gst_pad_add_probe(sink.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_caps,
                    new Limit{capsfilter, max_size},
                    [](gpointer data) { delete static_cast<Limit*>(data); });
}

}  // namespace gpen_tools
