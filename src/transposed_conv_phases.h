// A stride-2 transposed convolution computed as one ordinary convolution whose
// output channels are its four output phases (even and odd rows by even and
// odd columns), interleaved afterwards by a pixel shuffle.
//
// Why: on the CPU, LibTorch 1.13 runs conv_transpose2d through im2col/col2im
// at about a twentieth of its convolution's speed (oneDNN), and GPEN's
// upsampling layers made most of a CPU forward pass. The phase form computes
// the same sums, in another order, on the fast convolution: each phase's
// taps are the kernel's entries of that parity, zero-padded to a common
// size, so a 3x3 kernel costs 16 taps instead of 9, about ten times faster
// all the same.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace gpen {

class TransposedConvPhases {
 public:
  // weight: [in, out, k, k] as conv_transpose2d takes it (stride 2, no
  // padding, no output padding, no dilation, one group).
  explicit TransposedConvPhases(const torch::Tensor& weight);

  // conv_transpose2d(x, weight, stride 2) for x [B, in, H, W]:
  // [B, out, 2H + k - 2, 2W + k - 2]. A view into the shuffled result.
  // in_scale [in] and out_scale [out], when defined, scale the weight per
  // input and output channel first.
  torch::Tensor operator()(const torch::Tensor& x, const torch::Tensor& in_scale = {},
                           const torch::Tensor& out_scale = {}) const;

  const torch::Tensor& phase_weight() const { return phase_weight_; }

 private:
  std::int64_t kernel_size_;
  torch::Tensor phase_weight_;  // [4 * out, in, d, d], d = ceil(k / 2), in the weight's memory format
};

}  // namespace gpen
