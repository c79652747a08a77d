// Restores a list of images: several workers decode and encode in their
// own small pipelines while one ImageEnhancer restores the faces.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "enhancer.h"
#include "image_codec.h"
#include "options.h"
#include "progress.h"
#include "run_stats.h"

namespace gpen_tools {

struct ImageJob {
  std::string name;    // for messages: the input's path
  std::string input;
  std::string output;  // the file to write
  ImageEncoder encoder = ImageEncoder::Png;
};

// What became of one image: for --report.
struct ImageOutcome {
  bool settled = false;  // false: not run (interrupted, or the enhancer failed first)
  std::string error;     // empty: restored and written
  unsigned faces = 0;
  double seconds = 0;    // from its decoding to its file written
};

struct ImageRunResult {
  std::vector<ImageOutcome> outcomes;  // one per job, in the jobs' order
  std::string fatal;        // the enhancer failed: nothing more could be done
  std::size_t not_run = 0;  // images left undone (fatal error or interruption)
  std::string device;       // where the network ran, and its batch size
  int batch_size = 0;
  RunStats stats;           // where the time went (its wall time: the caller's)
};

// Throws std::runtime_error when the enhancer cannot start (a model that
// does not load). `interrupted` is polled: once set, no new image starts.
ImageRunResult run_images(const std::vector<ImageJob>& jobs, const Options& options,
                          const ModelPaths& models, Progress& progress,
                          const std::atomic<bool>& interrupted);

}  // namespace gpen_tools
