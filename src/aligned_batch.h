// A batch of aligned faces under way: what FaceEnhancer::launch_aligned
// returns, written into its images by finish().
#pragma once

#include <chrono>
#include <cstddef>

#include "pixel_transfer.h"

namespace gpen {

// On CUDA the device works through the batch after launch_aligned returns,
// so the host can gather (and launch) the next batch meanwhile; finish()
// waits for this batch's results only. On the CPU the work is done by the
// launch and finish() only writes the pixels. Either way the images are
// read at the launch and written at finish() and by nothing else: they must
// stay valid until then, and dropping an unfinished batch leaves them as
// they were.
class AlignedBatch {
 public:
  AlignedBatch() = default;
  AlignedBatch(AlignedBatch&&) noexcept = default;
  AlignedBatch& operator=(AlignedBatch&&) noexcept = default;
  AlignedBatch(const AlignedBatch&) = delete;
  AlignedBatch& operator=(const AlignedBatch&) = delete;

  std::size_t size() const { return faces_; }
  bool finished() const { return finished_; }

  // Waits for the results and writes them into the images; once.
  void finish();

  // The host's time on the batch: launching it, and finishing it (waiting
  // for the device included), in seconds.
  double seconds() const { return launch_seconds_ + finish_seconds_; }

 private:
  friend class FaceEnhancer;
  using Clock = std::chrono::steady_clock;

  std::size_t faces_ = 0;
  bool finished_ = false;
  double launch_seconds_ = 0, finish_seconds_ = 0;
  // The results on their way into the images (on the CPU, kept until then).
  PixelDownloads downloads_;
};

}  // namespace gpen
