#include "aligned_batch.h"

namespace gpen {

void AlignedBatch::finish() {
  if (finished_) return;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < results_.size(); ++i) write_rgb(results_[i], views_[i]);
  downloads_.finish();
  results_.clear();
  views_.clear();
  finished_ = true;
  finish_seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace gpen
