#include "enhancer.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include <chrono>
#include <algorithm>
#include <stdexcept>
#include <thread>

#include "bus.h"

namespace gpen_tools {

void configure_gpenenhance(GstElement* e, const Options& o, const ModelPaths& models) {
  g_object_set(e, "model", models.model.c_str(), "batch-size", static_cast<guint>(o.batch_size),
               "device", o.device.c_str(), "strength", o.strength, "denoise", o.denoise,
               "sharpen", o.sharpen, "max-faces", static_cast<guint>(o.max_faces), nullptr);
  gst_util_set_object_arg(G_OBJECT(e), "face-mode", o.aligned ? "aligned" : "full");
  gst_util_set_object_arg(G_OBJECT(e), "task", o.colorize ? "colorize" : "restore");
  gst_util_set_object_arg(G_OBJECT(e), "precision", o.precision.c_str());
  gst_util_set_object_arg(G_OBJECT(e), "detector", o.detector.c_str());
  gst_util_set_object_arg(G_OBJECT(e), "messages", "frame");
  g_object_set(e, "batch-timeout", static_cast<guint64>(o.batch_timeout), nullptr);
  // A CPU detector (the cascade, or anything with --device cpu) searches the
  // next images on every core while the network runs; RetinaFace on a GPU
  // is batched over images instead. Latency does not matter here.
  if (!o.aligned && (models.detector_model.empty() || o.device == "cpu" || o.detector == "cascade"))
    g_object_set(e, "detection-threads",
                 std::clamp(std::thread::hardware_concurrency(), 1u, 4u), nullptr);
  if (!models.detector_model.empty())
    g_object_set(e, "detector-model", models.detector_model.c_str(), nullptr);
  if (!o.aligned) {
    // The element tracks only frames with a frame rate: images are untouched.
    g_object_set(e, "tracking", o.tracking ? TRUE : FALSE, "smoothing", o.smoothing,
                 "detection-interval", static_cast<guint>(o.detection_interval), nullptr);
    gst_util_set_object_arg(G_OBJECT(e), "paste-mask", o.paste_mask.c_str());
    if (!models.parse_model.empty())
      g_object_set(e, "parse-model", models.parse_model.c_str(), nullptr);
  }
}

void dump_pipeline_graph(GstElement* pipeline, const char* name) {
  GST_DEBUG_BIN_TO_DOT_FILE(GST_BIN(pipeline),
                            static_cast<GstDebugGraphDetails>(
                                GST_DEBUG_GRAPH_SHOW_MEDIA_TYPE |
                                GST_DEBUG_GRAPH_SHOW_NON_DEFAULT_PARAMS |
                                GST_DEBUG_GRAPH_SHOW_STATES),
                            name);
}

ImageEnhancer::ImageEnhancer(const Options& options, const ModelPaths& models) {
  std::string error;
  pipeline_ = parse_pipeline(
      "appsrc name=src format=time max-bytes=0 ! gpenenhance name=gpen ! queue ! "
      "appsink name=sink sync=false",
      error);
  if (!pipeline_) throw std::runtime_error("cannot build the enhancing pipeline: " + error);
  gst_object_set_name(GST_OBJECT(pipeline_.get()), "gpen-enhance-images");
  src_ = pipeline_.child("src");
  sink_ = pipeline_.child("sink");
  ElementPtr gpen = pipeline_.child("gpen");
  configure_gpenenhance(gpen.get(), options, models);

  BusPtr bus = pipeline_.bus();
  gst_bus_set_sync_handler(bus.get(), &ImageEnhancer::on_message, this, nullptr);
  // READY -> PAUSED loads the models; a failure is an element error.
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    std::string why = this->error();
    stop();
    throw std::runtime_error(why.empty() ? "the enhancing pipeline did not start" : why);
  }
  guint batch = 1;
  gchar* device = nullptr;
  g_object_get(gpen.get(), "current-batch-size", &batch, "current-device", &device, nullptr);
  GCharPtr owned_device(device);
  batch_size_ = static_cast<int>(batch);
  device_ = device ? device : "";
}

ImageEnhancer::~ImageEnhancer() {
  stop();
  if (stats_) gst_structure_free(stats_);
  if (pipeline_) {
    BusPtr bus = pipeline_.bus();
    gst_bus_set_sync_handler(bus.get(), nullptr, nullptr, nullptr);
  }
}

GstBusSyncReply ImageEnhancer::on_message(GstBus*, GstMessage* message, gpointer data) {
  auto* self = static_cast<ImageEnhancer*>(data);
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ELEMENT: {
      const GstStructure* s = gst_message_get_structure(message);
      guint64 offset = 0;
      guint faces = 0;
      if (s && gst_structure_has_name(s, "gpen-stats")) {
        std::lock_guard<std::mutex> lock(self->lock_);
        if (self->stats_) gst_structure_free(self->stats_);
        self->stats_ = gst_structure_copy(s);
        self->stats_posted_.notify_all();
      }
      if (s && gst_structure_has_name(s, "gpen-faces") &&
          gst_structure_get_uint64(s, "offset", &offset) &&
          gst_structure_get_uint(s, "faces", &faces)) {
        std::lock_guard<std::mutex> lock(self->lock_);
        self->faces_[offset] = faces;
        self->total_faces_ += faces;
      }
      break;
    }
    case GST_MESSAGE_ERROR: {
      std::lock_guard<std::mutex> lock(self->lock_);
      if (self->error_.empty()) self->error_ = message_text(message);
      break;
    }
    default:
      break;
  }
  gst_message_unref(message);
  return GST_BUS_DROP;
}

bool ImageEnhancer::push(std::uint64_t index, GstSample* decoded) {
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, gst_sample_get_caps(decoded))) return false;
  // Caps with the format and size only, so that images of one size keep
  // one caps (colorimetry and the like differ between files and would
  // drain the batch for nothing).
  GstVideoInfo plain;
  gst_video_info_set_format(&plain, GST_VIDEO_INFO_FORMAT(&info), info.width, info.height);
  plain.par_n = info.par_n;
  plain.par_d = info.par_d;
  CapsPtr caps(gst_video_info_to_caps(&plain));

  // A new GstBuffer over the same memory, numbered with the image's index
  // (gpenenhance keeps the offset and reports it in gpen-faces).
  GstBuffer* buffer = gst_buffer_copy(gst_sample_get_buffer(decoded));
  GST_BUFFER_OFFSET(buffer) = index;
  GST_BUFFER_OFFSET_END(buffer) = GST_BUFFER_OFFSET_NONE;
  GST_BUFFER_PTS(buffer) = GST_BUFFER_DTS(buffer) = GST_BUFFER_DURATION(buffer) = GST_CLOCK_TIME_NONE;

  std::lock_guard<std::mutex> lock(push_lock_);
  if (!last_caps_ || !gst_caps_is_equal(last_caps_.get(), caps.get())) {
    gst_app_src_set_caps(GST_APP_SRC(src_.get()), caps.get());
    last_caps_ = std::move(caps);
  }
  return gst_app_src_push_buffer(GST_APP_SRC(src_.get()), buffer) == GST_FLOW_OK;
}

void ImageEnhancer::end_of_stream() { gst_app_src_end_of_stream(GST_APP_SRC(src_.get())); }

SamplePtr ImageEnhancer::pull(std::uint64_t& index) {
  SamplePtr sample(gst_app_sink_pull_sample(GST_APP_SINK(sink_.get())));
  if (!sample) return sample;
  index = GST_BUFFER_OFFSET(gst_sample_get_buffer(sample.get()));
  if (!graph_dumped_) {  // with its caps negotiated, once an image went through
    dump_pipeline_graph(pipeline_.get(), "gpen-enhance-images");
    graph_dumped_ = true;
  }
  return sample;
}

unsigned ImageEnhancer::take_faces(std::uint64_t index) {
  std::lock_guard<std::mutex> lock(lock_);
  auto found = faces_.find(index);
  if (found == faces_.end()) return 0;
  const unsigned faces = found->second;
  faces_.erase(found);
  return faces;
}

unsigned ImageEnhancer::total_faces() const {
  std::lock_guard<std::mutex> lock(lock_);
  return total_faces_;
}

bool ImageEnhancer::take_stats(RunStats& stats, int timeout_ms) {
  std::unique_lock<std::mutex> lock(lock_);
  if (!stats_posted_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                              [this] { return stats_ != nullptr; }))
    return false;
  for (int i = 0; i < gst_structure_n_fields(stats_); ++i) {
    const char* name = gst_structure_nth_field_name(stats_, i);
    double seconds = 0;
    if (std::string(name) != "wall" && gst_structure_get_double(stats_, name, &seconds))
      stats.element[name] = seconds;
  }
  guint64 faces = 0, batches = 0;
  if (gst_structure_get_uint64(stats_, "faces", &faces)) stats.faces = faces;
  if (gst_structure_get_uint64(stats_, "batches", &batches)) stats.batches = batches;
  guint threads = 0;
  if (gst_structure_get_uint(stats_, "detection-threads", &threads))
    stats.detection_threads = static_cast<int>(threads);
  return true;
}

std::string ImageEnhancer::error() const {
  std::lock_guard<std::mutex> lock(lock_);
  return error_;
}

void ImageEnhancer::stop() {
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
}

}  // namespace gpen_tools
