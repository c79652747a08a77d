// A stride-2 transposed convolution computed as four ordinary convolutions,
// one per output phase (even and odd rows by even and odd columns), whose
// results are interleaved into the output.
//
// Why: on the CPU, LibTorch 1.13 runs conv_transpose2d through im2col/col2im
// at about a twentieth of its convolution's speed (oneDNN), and GPEN's
// upsampling layers made most of a CPU forward pass. Each phase sums only the
// kernel's entries of its parity (4, 2, 2 and 1 taps of a 3x3 kernel), so the
// four convolutions do the transposed convolution's multiply-adds and no more.
#pragma once

#include <array>
#include <cstdint>

#include <torch/types.h>

namespace gpen {

class TransposedConvPhases {
 public:
  // weight: [in, out, k, k] as conv_transpose2d takes it (stride 2, no
  // padding, no output padding, no dilation, one group).
  explicit TransposedConvPhases(const torch::Tensor& weight);

  // conv_transpose2d(x, weight, stride 2) for x [B, in, H, W]:
  // [B, out, 2H + k - 2, 2W + k - 2], in x's memory format. in_scale [in]
  // and out_scale [out], when defined, scale the weight per input and output
  // channel first.
  torch::Tensor operator()(const torch::Tensor& x, const torch::Tensor& in_scale = {},
                           const torch::Tensor& out_scale = {}) const;

  // Phase 2a + b makes the outputs (2i + a, 2j + b): [out, in, taps of parity
  // a, taps of parity b], undefined when it has no taps (k = 1).
  const std::array<torch::Tensor, 4>& phase_weights() const { return phase_weights_; }

 private:
  std::int64_t in_channels_, out_channels_, kernel_size_;
  std::array<torch::Tensor, 4> phase_weights_;  // in the weight's memory format
};

}  // namespace gpen
