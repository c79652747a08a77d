// upfirdn2d: upsample by zero insertion, pad, FIR-filter, downsample; the
// resampling primitive of StyleGAN2 and GPEN, per channel.
#pragma once

#include <torch/types.h>

namespace gpen {

struct FirFilter {
  torch::Tensor kernel;  // [kh, kw], as stored in the checkpoint (not flipped)
  int up = 1;
  int down = 1;
  int pad0 = 0;  // padding before, on both axes
  int pad1 = 0;  // padding after, on both axes
};

// input [B, C, H, W] -> [B, C, (H*up + pad0 + pad1 - kh + 1) / down, ...]
torch::Tensor upfirdn2d(const torch::Tensor& input, const FirFilter& filter);

}  // namespace gpen
