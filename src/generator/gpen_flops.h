// Floating-point operations of one GPEN forward pass per face, counted from
// the configuration (a multiply-add is two operations), for the benchmark's
// fraction of the device's peak.
#pragma once

#include "generator/gpen_config.h"

namespace gpen {

struct GpenFlops {
  double encoder = 0;        // 1x1 and stride-2 3x3 convolutions
  double convolutions = 0;   // the generator's 3x3 modulated convolutions
  double transposed = 0;     // its stride-2 transposed 3x3 convolutions
  double to_rgb = 0;         // 1x1 convolutions to RGB
  double blurs = 0;          // 4x4 FIR filters (not tensor-core work)
  double dense() const { return encoder + convolutions + transposed + to_rgb; }
};

GpenFlops count_gpen_flops(const GpenConfig& config);

}  // namespace gpen
