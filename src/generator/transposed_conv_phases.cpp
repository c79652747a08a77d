#include "generator/transposed_conv_phases.h"

#include <torch/torch.h>

#include "runtime/convolve.h"

namespace gpen {

namespace {

// Kernel entries of parity a along an axis of length k: a, a + 2, ...
std::int64_t taps(std::int64_t k, int a) { return (k - a + 1) / 2; }

}  // namespace

// Along one axis, output 2p + a of the transposed convolution is
//   y[2p + a] = sum_j w[2j + a] x[p - j],   j < taps(k, a) = d,
// a correlation of x (padded by d - 1 before and after) with the kernel's
// entries of parity a in reverse order: tap t = d - 1 - j holds w[2j + a].
TransposedConvPhases::TransposedConvPhases(const torch::Tensor& weight) {
  TORCH_CHECK(weight.dim() == 4 && weight.size(2) == weight.size(3),
              "TransposedConvPhases: expected a square [in, out, k, k] kernel, got ",
              weight.sizes());
  in_channels_ = weight.size(0);
  out_channels_ = weight.size(1);
  kernel_size_ = weight.size(2);
  for (int a = 0; a < 2; ++a) {
    for (int b = 0; b < 2; ++b) {
      if (taps(kernel_size_, a) == 0 || taps(kernel_size_, b) == 0) continue;
      phase_weights_[2 * a + b] = weight.slice(2, a, kernel_size_, 2)
                                      .slice(3, b, kernel_size_, 2)
                                      .flip({2, 3})
                                      .transpose(0, 1)
                                      .contiguous(weight.suggest_memory_format());
    }
  }
}

torch::Tensor TransposedConvPhases::operator()(const torch::Tensor& x,
                                               const torch::Tensor& in_scale,
                                               const torch::Tensor& out_scale) const {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == in_channels_, "TransposedConvPhases: expected [B, ",
              in_channels_, ", H, W], got ", x.sizes());
  const auto height = 2 * x.size(2) + kernel_size_ - 2, width = 2 * x.size(3) + kernel_size_ - 2;
  const auto options = x.options().memory_format(x.suggest_memory_format());
  const std::vector<std::int64_t> shape = {x.size(0), out_channels_, height, width};
  // A 1x1 kernel leaves the odd phases without taps: zeros.
  auto out = kernel_size_ == 1 ? torch::zeros(shape, options) : torch::empty(shape, options);
  for (int a = 0; a < 2; ++a) {
    for (int b = 0; b < 2; ++b) {
      auto weight = phase_weights_[2 * a + b];
      if (!weight.defined()) continue;
      if (in_scale.defined()) weight = weight * in_scale.view({1, -1, 1, 1});
      if (out_scale.defined()) weight = weight * out_scale.view({-1, 1, 1, 1});
      const auto phase = convolve(x, weight, {}, 1, {weight.size(2) - 1, weight.size(3) - 1});
      out.slice(2, a, height, 2).slice(3, b, width, 2).copy_(phase);
    }
  }
  return out;
}

}  // namespace gpen
