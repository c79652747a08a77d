// The automatic batch size (batch-size=0): measured on the device, beside
// the policy (batch_policy.h) that turns the measurements into a choice.
#pragma once

#include "batch_policy.h"

namespace gpen {

class FaceEnhancer;

// 1 on the CPU. On CUDA the knee of the throughput measured over batches of
// 1, 2, 4, ... up to what the free memory allows by a measured per-face cost:
// larger batches past it add latency and memory, not speed. Measured once
// per model, device, precision and graph use in a process (a second or two
// of start-up), then remembered. The choice says what it was chosen from.
BatchChoice automatic_batch_size(FaceEnhancer& enhancer);

}  // namespace gpen
