// The long-lived pipeline that restores the faces of a stream of decoded
// images: appsrc ! gpenenhance ! queue ! appsink.
//
// Why one pipeline fed by appsrc rather than a pipeline per image: the model
// is loaded once, and consecutive images of one size share network batches
// (gpenenhance gathers the faces of up to batch-size frames; a change of
// size drains the batch, as a caps change must). Decoding and encoding run
// in small pipelines of their own on several workers (image_codec.h), so the
// enhancer's input never waits on a JPEG decoder and its output never waits
// on an encoder or the disk.
#pragma once

#include <gst/gst.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "gst_ptr.h"
#include "options.h"
#include "run_stats.h"

namespace gpen_tools {

struct ModelPaths {
  std::string model;
  std::string detector_model;  // empty: the element's cascade
  std::string parse_model;     // empty: the rectangle paste mask
};

// Sets gpenenhance's properties from the command line.
void configure_gpenenhance(GstElement* gpenenhance, const Options& options,
                           const ModelPaths& models);

// Writes the pipeline's graph to $GST_DEBUG_DUMP_DOT_DIR/<name>.dot when set.
void dump_pipeline_graph(GstElement* pipeline, const char* name);

class ImageEnhancer {
 public:
  // Builds the pipeline and starts it, which loads the models. Throws
  // std::runtime_error with the element's message when they do not load.
  ImageEnhancer(const Options& options, const ModelPaths& models);
  ~ImageEnhancer();
  ImageEnhancer(const ImageEnhancer&) = delete;
  ImageEnhancer& operator=(const ImageEnhancer&) = delete;

  int batch_size() const { return batch_size_; }
  const std::string& device() const { return device_; }

  // Queues the decoded image `index` (thread-safe; images leave in the order
  // they were pushed). False once the pipeline has failed or stopped.
  bool push(std::uint64_t index, GstSample* decoded);
  // No more images: the element drains its last, partial batch.
  void end_of_stream();

  // The next restored image and its index; null at the end, on an error or
  // after stop(). Blocks.
  SamplePtr pull(std::uint64_t& index);

  // Faces the element restored in image `index` (from its gpen-faces
  // message, which is posted before the image leaves the element).
  unsigned take_faces(std::uint64_t index);
  unsigned total_faces() const;

  // The element's gpen-stats (posted at EOS) into `stats`: its stages, faces
  // and batches; waits up to `timeout_ms` for the message. False without it.
  bool take_stats(RunStats& stats, int timeout_ms);

  // The pipeline's error, empty while there is none.
  std::string error() const;
  // Stops the pipeline: pull() returns null from then on.
  void stop();

 private:
  static GstBusSyncReply on_message(GstBus* bus, GstMessage* message, gpointer self);

  Pipeline pipeline_;
  ElementPtr src_, sink_;
  int batch_size_ = 1;
  std::string device_;
  bool graph_dumped_ = false;  // pull()'s thread only

  std::mutex push_lock_;  // caps and buffer go in together
  CapsPtr last_caps_;

  mutable std::mutex lock_;
  std::map<std::uint64_t, unsigned> faces_;
  unsigned total_faces_ = 0;
  std::string error_;
  std::condition_variable stats_posted_;
  GstStructure* stats_ = nullptr;  // the gpen-stats message's, once posted
};

}  // namespace gpen_tools
