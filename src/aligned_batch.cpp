#include "aligned_batch.h"

namespace gpen {

void AlignedBatch::finish() {
  if (finished_) return;
  const auto start = Clock::now();
  downloads_.finish();
  finished_ = true;
  finish_seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace gpen
