// The pipeline a stress run drives: appsrc ! gpenenhance ! appsink, with
// every frame that comes out checked into a FrameLedger, and the bus watched
// from a sync handler (errors, EOS, face messages), so that nothing piles up
// on it during a long run.
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "frame_ledger.h"
#include "stress_frames.h"

namespace stress {

struct PipelineOptions {
  std::string model;
  std::string mode = "aligned";  // face-mode
  std::string device = "cpu";
  std::string detector_model;     // full mode: a RetinaFace checkpoint, or the cascade
  unsigned batch_size = 1;
  // "identity" instead of gpenenhance: a control run, to tell the element's
  // faults from GStreamer's or this program's.
  bool passthrough = false;
  bool async_sink = false;  // see the constructor
  // NAME=VALUE settings for gpenenhance, applied after the others (e.g.
  // messages=none, to tell its parts apart in a soak).
  std::vector<std::string> element_settings;
};

class Pipeline {
 public:
  Pipeline(const PipelineOptions& options, FrameLedger& ledger);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  GstElement* pipeline() const { return pipeline_; }
  GstElement* enhancer() const { return enhancer_; }

  void set_caps(const FrameSpec& spec);
  // Records the frame in the ledger, then pushes it (taking it); false when
  // appsrc refused it.
  bool push(GstBuffer* frame);
  // Changes state; READY and NULL complete before it returns, PAUSED and
  // PLAYING may complete later (the sink prerolls when a frame arrives).
  bool set_state(GstState state);
  // A flushing seek to `position`; returns once the flush is done.
  bool flush_seek(GstClockTime position);
  // Sends EOS and waits until the sink got it; false on a timeout or as soon
  // as an error is posted.
  bool end_of_stream(std::chrono::milliseconds timeout);
  // Recalculates the pipeline latency when an element asked for it.
  void handle_latency();

  std::vector<std::string> bus_errors() const;
  bool failed() const { return !bus_errors().empty(); }
  std::uint64_t face_messages() const { return face_messages_; }
  std::uint64_t warnings() const { return warnings_; }
  // Frames the sink got; advances on every frame (for the watchdog).
  std::uint64_t frames_out() const { return frames_out_; }

 private:
  static GstBusSyncReply on_bus(GstBus* bus, GstMessage* message, gpointer self);
  static GstFlowReturn on_sample(GstAppSink* sink, gpointer self);
  static gboolean on_seek_data(GstAppSrc* src, guint64 offset, gpointer self);

  FrameLedger& ledger_;
  GstElement* pipeline_ = nullptr;
  GstElement* source_ = nullptr;
  GstElement* enhancer_ = nullptr;
  GstElement* sink_ = nullptr;

  mutable std::mutex lock_;
  std::condition_variable eos_changed_;
  bool eos_ = false;
  std::vector<std::string> bus_errors_;
  std::atomic<std::uint64_t> face_messages_{0};
  std::atomic<std::uint64_t> warnings_{0};
  std::atomic<std::uint64_t> frames_out_{0};
  std::atomic<bool> latency_asked_{false};
};

}  // namespace stress
