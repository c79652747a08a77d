// Two streams, one model: an application with two cameras of its own (here,
// one image pushed as frames into each) runs two pipelines,
//   appsrc ! gpenenhance model-instance-id=app-cameras ! appsink
// whose elements share one loaded model and one batcher: the faces of both
// streams fill the same batches (batch-size 2 here), and
// each stream's frames come back in its own order with its own timestamps.
//
//   build/examples/gpen-embed-streams MODEL INPUT.png OUT_A.png OUT_B.png [cpu|cuda|auto]
//
// Run it with GST_PLUGIN_PATH=build/gst. It prints each stream's frames as
// they come back and the batches the shared engine ran.
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <string>

namespace {

constexpr int kFrames = 4;  // per stream

struct Stream {
  const char* name;
  GstElement* pipeline = nullptr;
  GstElement* src = nullptr;
  GstElement* sink = nullptr;
  GstBus* bus = nullptr;
};

// A pipeline of its own for each camera; the id is what they share.
bool build(Stream& stream, const char* model, const char* device, const GstVideoInfo& info) {
  GError* error = nullptr;
  stream.pipeline = gst_parse_launch(
      "appsrc name=src format=time ! gpenenhance name=gpen model-instance-id=app-cameras "
      "batch-size=2 ! appsink name=sink",
      &error);
  if (!stream.pipeline || error) {  // e.g. no gpenenhance: is GST_PLUGIN_PATH set?
    std::fprintf(stderr, "cannot build the pipeline: %s\n", error ? error->message : "?");
    return false;
  }
  gst_object_set_name(GST_OBJECT(stream.pipeline), stream.name);
  GstElement* gpen = gst_bin_get_by_name(GST_BIN(stream.pipeline), "gpen");
  g_object_set(gpen, "model", model, "device", device, nullptr);
  gst_object_unref(gpen);
  stream.src = gst_bin_get_by_name(GST_BIN(stream.pipeline), "src");
  stream.sink = gst_bin_get_by_name(GST_BIN(stream.pipeline), "sink");
  GstCaps* caps = gst_video_info_to_caps(&info);
  gst_app_src_set_caps(GST_APP_SRC(stream.src), caps);
  gst_caps_unref(caps);
  stream.bus = gst_element_get_bus(stream.pipeline);
  // The first to start loads the model; the second joins it (or, if its
  // model properties differ, fails with an error naming both elements).
  if (gst_element_set_state(stream.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    GstMessage* message = gst_bus_pop_filtered(stream.bus, GST_MESSAGE_ERROR);
    GError* e = nullptr;
    if (message) gst_message_parse_error(message, &e, nullptr);
    std::fprintf(stderr, "%s cannot start: %s\n", stream.name, e ? e->message : "unknown error");
    return false;
  }
  return true;
}

void push(Stream& stream, const cv::Mat& image, int index) {
  const gsize size = image.step[0] * image.rows;
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_fill(buffer, 0, image.data, size);
  GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>(index) * 40 * GST_MSECOND;
  GST_BUFFER_DURATION(buffer) = 40 * GST_MSECOND;
  GST_BUFFER_OFFSET(buffer) = static_cast<guint64>(index);
  gst_app_src_push_buffer(GST_APP_SRC(stream.src), buffer);
}

cv::Mat to_mat(GstSample* sample) {
  GstVideoInfo info;
  gst_video_info_from_caps(&info, gst_sample_get_caps(sample));
  GstVideoFrame frame;
  cv::Mat image;
  if (!gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ))
    return image;
  image = cv::Mat(info.height, info.width, CV_8UC3, GST_VIDEO_FRAME_PLANE_DATA(&frame, 0),
                  GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0))
              .clone();
  gst_video_frame_unmap(&frame);
  return image;
}

// The stream's errors, and the shared engine's batches from its gpen-stats.
// Reads until its EOS.
bool read_bus(Stream& stream, guint64& batches) {
  bool ok = true;
  while (GstMessage* message = gst_bus_timed_pop(stream.bus, 60 * GST_SECOND)) {
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS) {
      gst_message_unref(message);
      break;
    }
    const GstStructure* s = gst_message_get_structure(message);
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ELEMENT && gst_structure_has_name(s, "gpen-stats"))
      gst_structure_get_uint64(s, "batches", &batches);
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gst_message_parse_error(message, &e, nullptr);
      std::fprintf(stderr, "%s: error: %s\n", stream.name, e->message);
      g_error_free(e);
      ok = false;
    }
    gst_message_unref(message);
  }
  return ok;
}

void release(Stream& stream) {
  if (!stream.pipeline) return;
  gst_element_set_state(stream.pipeline, GST_STATE_NULL);  // the last one frees the model
  if (stream.bus) gst_object_unref(stream.bus);
  if (stream.src) gst_object_unref(stream.src);
  if (stream.sink) gst_object_unref(stream.sink);
  gst_object_unref(stream.pipeline);
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s MODEL INPUT OUT_A OUT_B [device]\n", argv[0]);
    return 2;
  }
  const char* device = argc > 5 ? argv[5] : "auto";
  const cv::Mat input = cv::imread(argv[2], cv::IMREAD_COLOR);  // BGR, 8 bits
  if (input.empty()) {
    std::fprintf(stderr, "cannot read %s\n", argv[2]);
    return 1;
  }
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_BGR, input.cols, input.rows);
  const cv::Mat packed = input.isContinuous() ? input : input.clone();

  Stream streams[2] = {{"camera-a"}, {"camera-b"}};
  int status = 0;
  if (!build(streams[0], argv[1], device, info) || !build(streams[1], argv[1], device, info))
    status = 1;
  if (status == 0) {
    // Frames from both cameras, in turn: they meet in the shared batches.
    for (int i = 0; i < kFrames; ++i)
      for (auto& stream : streams) push(stream, packed, i);
    for (auto& stream : streams) gst_app_src_end_of_stream(GST_APP_SRC(stream.src));
    const char* outputs[2] = {argv[3], argv[4]};
    for (int s = 0; s < 2; ++s) {
      for (int i = 0; i < kFrames; ++i) {
        GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(streams[s].sink));
        if (!sample) {
          std::fprintf(stderr, "%s: frame %d never came\n", streams[s].name, i);
          status = 1;
          break;
        }
        const GstBuffer* buffer = gst_sample_get_buffer(sample);
        std::printf("%s frame %" G_GUINT64_FORMAT " at %" GST_TIME_FORMAT "\n", streams[s].name,
                    GST_BUFFER_OFFSET(buffer), GST_TIME_ARGS(GST_BUFFER_PTS(buffer)));
        if (i == 0 && !cv::imwrite(outputs[s], to_mat(sample))) status = 1;
        gst_sample_unref(sample);
      }
    }
    // Both EOS have drained: the last gpen-stats counts all the batches.
    guint64 batches = 0;
    for (auto& stream : streams)
      if (!read_bus(stream, batches)) status = 1;
    std::printf("the shared model ran %" G_GUINT64_FORMAT " batches for %d frames of 2 streams\n",
                batches, 2 * kFrames);
  }
  for (auto& stream : streams) release(stream);
  return status;
}
