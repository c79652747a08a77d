// The automatic batch size (batch-size=0): measured on the device, beside
// the policy (batch_policy.h) that turns the measurements into a choice.
#pragma once

#include <string>

#include "batch_policy.h"

namespace gpen {

class FaceEnhancer;

class BatchSizeCache;

// 1 on the CPU. On CUDA the knee of the throughput measured over batches of
// 1, 2, 4, ... up to what the free memory allows by a measured per-face cost:
// larger batches past it add latency and memory, not speed. Measured once
// per GPU, model, precision, graph use and LibTorch (seconds of start-up),
// then remembered: in the process, and in `cache` (batch_size_cache.h; the
// default file without one). The choice says what it was chosen from.
BatchChoice automatic_batch_size(FaceEnhancer& enhancer, const BatchSizeCache& cache);
BatchChoice automatic_batch_size(FaceEnhancer& enhancer);

// What a remembered measurement is filed under: the GPU and its driver, the
// model's architecture, the precision, CUDA graphs, the LibTorch version.
std::string batch_size_key(const FaceEnhancer& enhancer);

}  // namespace gpen
