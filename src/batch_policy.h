// How many faces go through the network at once when the user leaves
// batch-size at 0 (automatic).
#pragma once

#include <cstddef>

namespace gpen {

constexpr int kMaxBatchSize = 64;

struct BatchMemoryEstimate {
  std::size_t free_bytes = 0;      // free device memory before the first batch
  std::size_t per_face_bytes = 0;  // peak working memory one more face costs
};

// On the CPU a batch of one is as fast per face as any larger batch and has
// the least latency. On CUDA the batch is what fits in `headroom` of the free
// memory, capped at `throughput_cap` (the knee where throughput stops growing;
// 0 means no measured cap) and at kMaxBatchSize.
int choose_batch_size(bool is_cuda, const BatchMemoryEstimate& memory, int throughput_cap = 0,
                      double headroom = 0.8);

}  // namespace gpen
