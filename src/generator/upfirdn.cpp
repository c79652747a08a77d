#include "generator/upfirdn.h"

#include <torch/torch.h>

#include "runtime/convolve.h"

namespace gpen {

namespace F = torch::nn::functional;

torch::Tensor upfirdn2d(const torch::Tensor& input, const FirFilter& filter) {
  const auto b = input.size(0), c = input.size(1), h = input.size(2), w = input.size(3);
  torch::Tensor x = input;
  if (filter.up > 1) {
    // Each sample followed by up-1 zeros, on both axes.
    x = x.reshape({b, c, h, 1, w, 1});
    x = F::pad(x, F::PadFuncOptions({0, filter.up - 1, 0, 0, 0, filter.up - 1}));
    x = x.reshape({b, c, h * filter.up, w * filter.up});
  }
  // Equal zero padding on both sides is the convolution's own (no padded
  // copy of the input); the rest is padded here.
  const int conv_padding = filter.pad0 == filter.pad1 && filter.pad0 > 0 ? filter.pad0 : 0;
  if (conv_padding == 0 && (filter.pad0 != 0 || filter.pad1 != 0))
    x = F::pad(x, F::PadFuncOptions({filter.pad0, filter.pad1, filter.pad0, filter.pad1}));
  // The reference convolves with the flipped kernel (true FIR filtering).
  const auto kh = filter.kernel.size(0), kw = filter.kernel.size(1);
  auto weight = torch::flip(filter.kernel, {0, 1})
                    .to(x.scalar_type())
                    .view({1, 1, kh, kw})
                    .expand({c, 1, kh, kw});
  return convolve(x, weight, {}, filter.down, conv_padding, /*groups=*/c);
}

}  // namespace gpen
