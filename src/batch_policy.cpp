#include "batch_policy.h"

#include <algorithm>

namespace gpen {

int choose_batch_size(bool is_cuda, const BatchMemoryEstimate& memory, int throughput_cap,
                      double headroom) {
  if (!is_cuda) return 1;
  if (memory.per_face_bytes == 0) return 1;
  const double usable = static_cast<double>(memory.free_bytes) * std::clamp(headroom, 0.0, 1.0);
  const double fits = usable / static_cast<double>(memory.per_face_bytes);
  int batch = fits >= kMaxBatchSize ? kMaxBatchSize : static_cast<int>(fits);
  if (throughput_cap > 0) batch = std::min(batch, throughput_cap);
  return std::max(batch, 1);
}

}  // namespace gpen
