// Embedding gpenenhance in an application that has its own frames (here,
// OpenCV images): push them into appsrc, take the restored frames from
// appsink, and read the faces from the element's gpen-faces messages.
//
//   build/examples/gpen-embed MODEL INPUT.png OUTPUT.png [cpu|cuda|auto]
//
// The pipeline is  appsrc ! gpenenhance ! appsink. Frames leave gpenenhance
// in the order they came, with their timestamps, once their batch has run:
// push a few and pull as many (or send end-of-stream, which drains the last
// partial batch, as done here). Run it with GST_PLUGIN_PATH=build/gst.
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <string>

namespace {

// Wraps a cv::Mat's pixels in a GstBuffer without copying; the buffer keeps
// the Mat (and so its memory) alive, and a GstVideoMeta says its stride.
// gpenenhance restores frames in place: it writes into these pixels.
GstBuffer* wrap_mat(const cv::Mat& image, const GstVideoInfo& info) {
  auto* owner = new cv::Mat(image);
  GstBuffer* buffer = gst_buffer_new_wrapped_full(
      static_cast<GstMemoryFlags>(0), owner->data, owner->step[0] * owner->rows, 0,
      owner->step[0] * owner->rows, owner, [](gpointer mat) { delete static_cast<cv::Mat*>(mat); });
  gsize offset[GST_VIDEO_MAX_PLANES] = {0};
  gint stride[GST_VIDEO_MAX_PLANES] = {static_cast<gint>(owner->step[0])};
  gst_buffer_add_video_meta_full(buffer, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(&info),
                                 info.width, info.height, 1, offset, stride);
  return buffer;
}

// Copies a restored frame into a cv::Mat.
cv::Mat to_mat(GstSample* sample) {
  GstVideoInfo info;
  gst_video_info_from_caps(&info, gst_sample_get_caps(sample));
  GstVideoFrame frame;
  cv::Mat image;
  if (!gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ))
    return image;
  cv::Mat view(info.height, info.width, CV_8UC3, GST_VIDEO_FRAME_PLANE_DATA(&frame, 0),
               GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0));
  image = view.clone();
  gst_video_frame_unmap(&frame);
  return image;
}

// The faces gpenenhance restored in a frame, from its gpen-faces message.
void print_faces(const GstStructure* s) {
  guint faces = 0;
  gst_structure_get_uint(s, "faces", &faces);
  std::printf("frame %" G_GUINT64_FORMAT ": %u face%s\n",
              g_value_get_uint64(gst_structure_get_value(s, "offset")), faces,
              faces == 1 ? "" : "s");
  const GValue* boxes = gst_structure_get_value(s, "boxes");
  for (guint i = 0; boxes && i < gst_value_array_get_size(boxes); ++i) {
    const GstStructure* box = gst_value_get_structure(gst_value_array_get_value(boxes, i));
    gint x = 0, y = 0, w = 0, h = 0;
    gst_structure_get(box, "x", G_TYPE_INT, &x, "y", G_TYPE_INT, &y, "width", G_TYPE_INT, &w,
                      "height", G_TYPE_INT, &h, nullptr);
    std::printf("  face at %d,%d, %dx%d\n", x, y, w, h);
  }
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MODEL INPUT OUTPUT [device]\n", argv[0]);
    return 2;
  }
  const char* device = argc > 4 ? argv[4] : "auto";
  const cv::Mat input = cv::imread(argv[2], cv::IMREAD_COLOR);  // BGR, 8 bits
  if (input.empty()) {
    std::fprintf(stderr, "cannot read %s\n", argv[2]);
    return 1;
  }

  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(
      "appsrc name=src format=time ! gpenenhance name=gpen ! appsink name=sink", &error);
  if (!pipeline) {
    std::fprintf(stderr, "cannot build the pipeline: %s\n", error->message);
    return 1;
  }
  GstElement* gpen = gst_bin_get_by_name(GST_BIN(pipeline), "gpen");
  g_object_set(gpen, "model", argv[1], "device", device, nullptr);
  gst_object_unref(gpen);
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");

  // OpenCV's BGR is one of the formats gpenenhance takes: no conversion.
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_BGR, input.cols, input.rows);
  GstCaps* caps = gst_video_info_to_caps(&info);
  gst_app_src_set_caps(GST_APP_SRC(src), caps);
  gst_caps_unref(caps);

  // Loading the model happens here: a bad file is an error on the bus.
  GstBus* bus = gst_element_get_bus(pipeline);
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    GError* e = nullptr;
    if (message) gst_message_parse_error(message, &e, nullptr);
    std::fprintf(stderr, "cannot start: %s\n", e ? e->message : "unknown error");
    return 1;
  }

  GstBuffer* buffer = wrap_mat(input, info);  // no copy: `input` gets the restored pixels too
  GST_BUFFER_PTS(buffer) = 0;
  GST_BUFFER_OFFSET(buffer) = 0;  // reported back in gpen-faces' "offset"
  gst_app_src_push_buffer(GST_APP_SRC(src), buffer);
  gst_app_src_end_of_stream(GST_APP_SRC(src));

  int status = 0;
  GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
  if (sample) {
    const cv::Mat output = to_mat(sample);
    gst_sample_unref(sample);
    if (output.empty() || !cv::imwrite(argv[3], output)) status = 1;
  } else {
    status = 1;
  }
  // The element's messages: the faces of each frame, or an error.
  while (GstMessage* message = gst_bus_pop(bus)) {
    const GstStructure* s = gst_message_get_structure(message);
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ELEMENT && gst_structure_has_name(s, "gpen-faces"))
      print_faces(s);
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gst_message_parse_error(message, &e, nullptr);
      std::fprintf(stderr, "error: %s\n", e->message);
      g_error_free(e);
      status = 1;
    }
    gst_message_unref(message);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if (status == 0) std::printf("wrote %s\n", argv[3]);
  return status;
}
