// The automatic batch size remembered across processes, so that it is
// measured once per GPU, model and software rather than at every start (a
// measurement costs seconds: 7 s of a 17 s run on an H200).
//
// A text file, one line per measurement, keyed by what decides its result:
// the GPU and its driver, the model's architecture, the precision, CUDA
// graphs and the LibTorch version. A missing or unreadable file, a corrupt
// line, or lines of other GPUs only: the batch size is measured again and
// the file rewritten (other keys' valid lines kept), atomically.
#pragma once

#include <optional>
#include <string>

#include "batch_policy.h"

namespace gpen {

class BatchSizeCache {
 public:
  // $GPEN_BATCH_CACHE when set ("0" or empty: no cache), else
  // $XDG_CACHE_HOME/gst-gpen/batch-size.txt, else
  // $HOME/.cache/gst-gpen/batch-size.txt; empty when there is none.
  static std::string default_path();

  explicit BatchSizeCache(std::string path) : path_(std::move(path)) {}

  // The choice stored under `key`, if a valid one is.
  std::optional<BatchChoice> find(const std::string& key) const;
  // Stores `choice` under `key` (replacing what was there), through a
  // temporary file and a rename; creates the folder. False when it cannot
  // be written (the caller goes on: a cache is never a reason to fail).
  bool store(const std::string& key, const BatchChoice& choice) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace gpen
