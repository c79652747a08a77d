#include "launched_batch.h"

namespace gpen {

void LaunchedBatch::add(const DeviceImage& image, const torch::Tensor& rgb) {
  downloads_.add(image, rgb);
  ++images_;
}

void LaunchedBatch::add(const torch::Tensor& rgb, const ImageView& into) {
  downloads_.add(rgb, into);
  ++images_;
}

void LaunchedBatch::add(const YuvRegion& region, const YuvView& into) {
  downloads_.add(region, into);
  ++images_;
}

void LaunchedBatch::finish() {
  if (finished_) return;
  const auto start = Clock::now();
  downloads_.finish();
  finished_ = true;
  finish_seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace gpen
