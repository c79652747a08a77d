#include "transposed_conv_phases.h"

#include <torch/torch.h>

#include "convolve.h"

namespace gpen {

namespace F = torch::nn::functional;

// Along one axis, output 2p + a of the transposed convolution is
//   y[2p + a] = sum_j w[2j + a] x[p - j],
// a correlation of x (padded by d - 1 before) with the kernel's entries of
// parity a in reverse order: tap t = d - 1 - j holds w[2j + a].
TransposedConvPhases::TransposedConvPhases(const torch::Tensor& weight)
    : kernel_size_(weight.size(2)) {
  TORCH_CHECK(weight.dim() == 4 && weight.size(2) == weight.size(3),
              "TransposedConvPhases: expected a square [in, out, k, k] kernel, got ",
              weight.sizes());
  const auto in = weight.size(0), out = weight.size(1);
  const auto d = (kernel_size_ + 1) / 2;
  const auto pad = 2 * d - kernel_size_;  // zero entries that make both parities d long
  // [in, out, 2d, 2d] -> [in, out, j_y, a, j_x, b] -> taps in reverse order
  // -> [out, a, b, in, t_y, t_x]: channel 4o + 2a + b, as pixel_shuffle reads it.
  phase_weight_ = F::pad(weight, F::PadFuncOptions({0, pad, 0, pad}))
                      .reshape({in, out, d, 2, d, 2})
                      .flip({2, 4})
                      .permute({1, 3, 5, 0, 2, 4})
                      .reshape({4 * out, in, d, d})
                      .contiguous(weight.suggest_memory_format());
}

torch::Tensor TransposedConvPhases::operator()(const torch::Tensor& x,
                                               const torch::Tensor& in_scale,
                                               const torch::Tensor& out_scale) const {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == phase_weight_.size(1),
              "TransposedConvPhases: expected [B, ", phase_weight_.size(1), ", H, W], got ",
              x.sizes());
  const auto d = phase_weight_.size(2);
  // Each phase has H + d - 1 outputs per axis: interleaved, at least the
  // transposed convolution's 2H + k - 2; the rest are zeros past its end.
  auto weight = phase_weight_;
  if (in_scale.defined()) weight = weight * in_scale.view({1, -1, 1, 1});
  // Output channel o is phase channels 4o .. 4o + 3.
  if (out_scale.defined()) weight = weight * out_scale.repeat_interleave(4).view({-1, 1, 1, 1});
  const auto phases = convolve(x, weight, {}, 1, /*padding=*/d - 1);
  const auto shuffled = F::pixel_shuffle(phases, F::PixelShuffleFuncOptions(2));
  return shuffled.slice(2, 0, 2 * x.size(2) + kernel_size_ - 2)
      .slice(3, 0, 2 * x.size(3) + kernel_size_ - 2);
}

}  // namespace gpen
