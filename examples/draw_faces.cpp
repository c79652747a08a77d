// Draws the faces gpenfacedetect finds: reading its face metas from an
// application (the GstVideoRegionOfInterestMeta of type "face", with a
// "gpen-face" param holding the score and the five landmarks).
//
//   GST_PLUGIN_PATH=build/gst build/examples/gpen-draw-faces INPUT OUTPUT.jpg [RetinaFace.pth]
//
// Without a RetinaFace model, the fallback detector (OpenCV's Haar cascade)
// looks. Boxes are drawn in green, landmarks in red (eyes, nose, mouth).
//
// The conversion to BGR comes before gpenfacedetect: GStreamer 1.22's
// videoconvert copies a region-of-interest meta without its params, so the
// landmarks would not survive a converter placed after the detector.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>

namespace {

// The five landmarks of a face meta, if its detector gave them.
bool landmarks_of(GstVideoRegionOfInterestMeta* roi, double points[10]) {
  const GstStructure* param = gst_video_region_of_interest_meta_get_param(roi, "gpen-face");
  const GValue* array = param ? gst_structure_get_value(param, "landmarks") : nullptr;
  if (!array || !GST_VALUE_HOLDS_ARRAY(array) || gst_value_array_get_size(array) != 10)
    return false;
  for (guint i = 0; i < 10; ++i) points[i] = g_value_get_double(gst_value_array_get_value(array, i));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s INPUT OUTPUT [RetinaFace.pth]\n", argv[0]);
    return 2;
  }
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(
      "filesrc name=src ! decodebin ! videoconvert ! video/x-raw,format=BGR ! "
      "gpenfacedetect name=detect device=cpu ! appsink name=sink",
      &error);
  if (!pipeline) {
    std::fprintf(stderr, "cannot build the pipeline: %s\n", error->message);
    return 1;
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  g_object_set(src, "location", argv[1], nullptr);
  gst_object_unref(src);
  if (argc > 3) {
    GstElement* detect = gst_bin_get_by_name(GST_BIN(pipeline), "detect");
    g_object_set(detect, "detector-model", argv[3], nullptr);
    gst_object_unref(detect);
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");

  // The first frame, prerolled, is the picture.
  gst_element_set_state(pipeline, GST_STATE_PAUSED);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message = gst_bus_timed_pop_filtered(
      bus, 120 * GST_SECOND,
      static_cast<GstMessageType>(GST_MESSAGE_ASYNC_DONE | GST_MESSAGE_ERROR));
  GstSample* sample = nullptr;
  if (message && GST_MESSAGE_TYPE(message) == GST_MESSAGE_ASYNC_DONE)
    sample = gst_app_sink_pull_preroll(GST_APP_SINK(sink));
  else if (message) {
    GError* e = nullptr;
    gst_message_parse_error(message, &e, nullptr);
    std::fprintf(stderr, "error: %s\n", e->message);
    g_error_free(e);
  }
  if (message) gst_message_unref(message);

  int status = 1;
  if (sample) {
    GstVideoInfo info;
    gst_video_info_from_caps(&info, gst_sample_get_caps(sample));
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstVideoFrame frame;
    if (gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ)) {
      cv::Mat picture = cv::Mat(info.height, info.width, CV_8UC3,
                                GST_VIDEO_FRAME_PLANE_DATA(&frame, 0),
                                GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0))
                            .clone();
      gst_video_frame_unmap(&frame);
      const int thickness = std::max(1, info.width / 600);
      int faces = 0;
      gpointer state = nullptr;
      while (GstMeta* meta = gst_buffer_iterate_meta_filtered(
                 buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
        auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta);
        if (roi->roi_type != g_quark_from_static_string("face")) continue;
        ++faces;
        cv::rectangle(picture, cv::Rect(roi->x, roi->y, roi->w, roi->h), cv::Scalar(0, 220, 0),
                      thickness);
        double points[10];
        if (landmarks_of(roi, points))
          for (int i = 0; i < 5; ++i)
            cv::circle(picture, cv::Point2d(points[2 * i], points[2 * i + 1]), thickness + 1,
                       cv::Scalar(0, 0, 255), cv::FILLED);
      }
      std::printf("%d faces\n", faces);
      if (cv::imwrite(argv[2], picture, {cv::IMWRITE_JPEG_QUALITY, 85})) status = 0;
    }
    gst_sample_unref(sample);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return status;
}
