// A batch's results on their way into their images: what
// FaceEnhancer::launch_aligned returns and what FrameBatcher makes of a full
// mode batch's pasted frames; finish() writes them.
#pragma once

#include <chrono>
#include <cstddef>

#include <torch/types.h>

#include "runtime/pixel_transfer.h"

namespace gpen {

// On CUDA the device works through the batch after its launch returns, so
// the host can gather (and launch) the next batch meanwhile; finish() waits
// for this batch's results only. On the CPU the work is done by the launch
// and finish() only writes the pixels. Either way the images are written at
// finish() and by nothing else: they must stay valid until then, and
// dropping an unfinished batch leaves them as they were.
class LaunchedBatch {
 public:
  LaunchedBatch() = default;
  LaunchedBatch(LaunchedBatch&&) noexcept = default;
  LaunchedBatch& operator=(LaunchedBatch&&) noexcept = default;
  LaunchedBatch(const LaunchedBatch&) = delete;
  LaunchedBatch& operator=(const LaunchedBatch&) = delete;

  // Images (or parts of images) whose results are on the way.
  std::size_t size() const { return images_; }
  bool finished() const { return finished_; }

  // Queues an image's results: `rgb` [3, H, W] uint8 for the image `image`
  // was read from (its bytes back whole), or for the view `into`.
  void add(const DeviceImage& image, const torch::Tensor& rgb);
  void add(const torch::Tensor& rgb, const ImageView& into);
  // Or a 4:2:0 frame's new planes for a rectangle of `into`.
  void add(const YuvRegion& region, const YuvView& into);
  // Host time spent launching it, counted in seconds().
  void add_launch_seconds(double seconds) { launch_seconds_ += seconds; }

  // Waits for the results and writes them into the images; once.
  void finish();

  // The host's time on the batch: launching it, and finishing it (waiting
  // for the device included), in seconds.
  double seconds() const { return launch_seconds_ + finish_seconds_; }

 private:
  using Clock = std::chrono::steady_clock;

  std::size_t images_ = 0;
  bool finished_ = false;
  double launch_seconds_ = 0, finish_seconds_ = 0;
  // The results on their way into the images (on the CPU, kept until then).
  PixelDownloads downloads_;
};

}  // namespace gpen
