#include "stress_pipeline.h"

#include <stdexcept>
#include <utility>

namespace stress {
namespace {

std::string message_text(GstMessage* message) {
  GError* error = nullptr;
  gchar* debug = nullptr;
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR)
    gst_message_parse_error(message, &error, &debug);
  else
    gst_message_parse_warning(message, &error, &debug);
  std::string text = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(message))) + ": " +
                     (error ? error->message : "?") + " (" + (debug ? debug : "") + ")";
  if (error) g_error_free(error);
  g_free(debug);
  return text;
}

}  // namespace

Pipeline::Pipeline(const PipelineOptions& o, FrameLedger& ledger) : ledger_(ledger) {
  pipeline_ = gst_pipeline_new("stress");
  source_ = gst_element_factory_make("appsrc", "source");
  enhancer_ = gst_element_factory_make(o.passthrough ? "identity" : "gpenenhance", "enhancer");
  sink_ = gst_element_factory_make("appsink", "sink");
  if (!pipeline_ || !source_ || !enhancer_ || !sink_)
    throw std::runtime_error("cannot make appsrc, gpenenhance or appsink (is GST_PLUGIN_PATH set?)");
  gst_bin_add_many(GST_BIN(pipeline_), source_, enhancer_, sink_, nullptr);
  if (!gst_element_link_many(source_, enhancer_, sink_, nullptr)) throw std::runtime_error("cannot link");

  // A seekable source, so that flushing seeks reach it: it drops what it
  // queued, and the application goes on pushing from the new position.
  g_object_set(source_, "format", GST_FORMAT_TIME, "stream-type", GST_APP_STREAM_TYPE_SEEKABLE, nullptr);
  GstAppSrcCallbacks source_callbacks{};
  source_callbacks.seek_data = on_seek_data;
  gst_app_src_set_callbacks(GST_APP_SRC(source_), &source_callbacks, this, nullptr);

  if (!o.passthrough) {
    gst_util_set_object_arg(G_OBJECT(enhancer_), "face-mode", o.mode.c_str());
    g_object_set(enhancer_, "model", o.model.c_str(), "device", o.device.c_str(), "batch-size", o.batch_size,
                 nullptr);
    if (!o.detector_model.empty()) g_object_set(enhancer_, "detector-model", o.detector_model.c_str(), nullptr);
    for (const auto& setting : o.element_settings) {
      const auto eq = setting.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("--set needs NAME=VALUE, got " + setting);
      gst_util_set_object_arg(G_OBJECT(enhancer_), setting.substr(0, eq).c_str(), setting.substr(eq + 1).c_str());
    }
  }

  // async=false: the sink still blocks in PAUSED, but state changes do not
  // wait for its preroll. With an async sink, a state change made while an
  // earlier one is still waiting for preroll (PAUSED then PLAYING at once)
  // now and then leaves the pipeline at PAUSED, pending PLAYING, for good:
  // identity in place of gpenenhance does the same (--passthrough
  // --async-sink), so it is GStreamer's, not the element's.
  g_object_set(sink_, "sync", FALSE, "async", o.async_sink ? TRUE : FALSE, nullptr);
  GstAppSinkCallbacks sink_callbacks{};
  sink_callbacks.new_sample = on_sample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink_), &sink_callbacks, this, nullptr);

  GstBus* bus = gst_pipeline_get_bus(GST_PIPELINE(pipeline_));
  gst_bus_set_sync_handler(bus, on_bus, this, nullptr);
  gst_object_unref(bus);
}

Pipeline::~Pipeline() {
  if (!pipeline_) return;
  gst_element_set_state(pipeline_, GST_STATE_NULL);
  GstBus* bus = gst_pipeline_get_bus(GST_PIPELINE(pipeline_));
  gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
  gst_object_unref(bus);
  gst_object_unref(pipeline_);
}

void Pipeline::set_caps(const FrameSpec& spec) {
  GstCaps* caps = FramePainter::caps(spec);
  gst_app_src_set_caps(GST_APP_SRC(source_), caps);
  gst_caps_unref(caps);
}

bool Pipeline::push(GstBuffer* frame) {
  // Into the ledger first: the frame may come out before push returns.
  ledger_.pushed(GST_BUFFER_OFFSET(frame));
  const GstFlowReturn ret = gst_app_src_push_buffer(GST_APP_SRC(source_), frame);
  if (ret != GST_FLOW_OK) {
    ledger_.fail("appsrc refused frame " + std::to_string(GST_BUFFER_OFFSET(frame)) + ": " + gst_flow_get_name(ret));
    return false;
  }
  return true;
}

bool Pipeline::set_state(GstState state) {
  if (state <= GST_STATE_READY) {
    std::lock_guard<std::mutex> lock(lock_);
    eos_ = false;
  }
  return gst_element_set_state(pipeline_, state) != GST_STATE_CHANGE_FAILURE;
}

bool Pipeline::flush_seek(GstClockTime position) {
  const bool ok = gst_element_seek(pipeline_, 1.0, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH, GST_SEEK_TYPE_SET,
                                   static_cast<gint64>(position), GST_SEEK_TYPE_NONE, GST_CLOCK_TIME_NONE);
  std::lock_guard<std::mutex> lock(lock_);
  eos_ = false;
  return ok;
}

bool Pipeline::end_of_stream(std::chrono::milliseconds timeout) {
  gst_app_src_end_of_stream(GST_APP_SRC(source_));
  std::unique_lock<std::mutex> lock(lock_);
  // After an error, the source sends EOS too, but frames were dropped.
  return eos_changed_.wait_for(lock, timeout, [&] { return eos_ || !bus_errors_.empty(); }) && eos_ &&
         bus_errors_.empty();
}

void Pipeline::handle_latency() {
  if (latency_asked_.exchange(false)) gst_bin_recalculate_latency(GST_BIN(pipeline_));
}

std::vector<std::string> Pipeline::bus_errors() const {
  std::lock_guard<std::mutex> lock(lock_);
  return bus_errors_;
}

GstBusSyncReply Pipeline::on_bus(GstBus* /*bus*/, GstMessage* message, gpointer data) {
  auto* self = static_cast<Pipeline*>(data);
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ERROR: {
      {
        std::lock_guard<std::mutex> lock(self->lock_);
        self->bus_errors_.push_back(message_text(message));
      }
      self->eos_changed_.notify_all();  // no EOS will come: stop waiting for it
      break;
    }
    case GST_MESSAGE_WARNING:
      ++self->warnings_;
      break;
    case GST_MESSAGE_EOS: {
      {
        std::lock_guard<std::mutex> lock(self->lock_);
        self->eos_ = true;
      }
      self->eos_changed_.notify_all();
      break;
    }
    case GST_MESSAGE_LATENCY:
      self->latency_asked_ = true;
      break;
    case GST_MESSAGE_ELEMENT: {
      const GstStructure* s = gst_message_get_structure(message);
      if (s && (gst_structure_has_name(s, "gpen-faces") || gst_structure_has_name(s, "gpen-batch")))
        ++self->face_messages_;
      break;
    }
    default:
      break;
  }
  // Handled here: nothing accumulates on the bus. A sync handler that drops
  // a message owns it (GstBusSyncHandler): without this unref every message
  // leaked, about 850 bytes per frame in a soak (each frame posts one).
  gst_message_unref(message);
  return GST_BUS_DROP;
}

GstFlowReturn Pipeline::on_sample(GstAppSink* sink, gpointer data) {
  auto* self = static_cast<Pipeline*>(data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_FLUSHING;
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  std::string why;
  if (!FramePainter::intact(buffer, gst_sample_get_caps(sample), &why))
    self->ledger_.fail("frame " + std::to_string(GST_BUFFER_OFFSET(buffer)) + " damaged: " + why);
  self->ledger_.received(GST_BUFFER_OFFSET(buffer));
  ++self->frames_out_;
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

gboolean Pipeline::on_seek_data(GstAppSrc* /*src*/, guint64 /*offset*/, gpointer /*self*/) {
  return TRUE;  // the application pushes the frames that follow the new position
}

}  // namespace stress
