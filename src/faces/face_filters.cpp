#include "faces/face_filters.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <torch/torch.h>

#include "runtime/convolve.h"
#include "runtime/error.h"

namespace gpen {
namespace {

namespace F = torch::nn::functional;

void check_amount(const char* what, float amount) {
  if (!(amount >= 0.f && amount <= 1.f))  // also rejects NaN
    throw Error(std::string(what) + ": amount " + std::to_string(amount) +
                " is outside [0, 1]");
}

void check_crops(const char* what, const torch::Tensor& crops) {
  TORCH_CHECK(crops.dim() == 4 && crops.is_floating_point(), what,
              ": expected float [N, C, S, S] crops, got ", crops.sizes(), " ",
              crops.scalar_type());
}

// Pads H and W by `pad` as cv2's default border does.
torch::Tensor pad_like_cv2(const torch::Tensor& images, int pad) {
  if (pad == 0) return images;
  const bool reflect = pad < images.size(2) && pad < images.size(3);
  F::PadFuncOptions options({pad, pad, pad, pad});
  if (reflect)
    options.mode(torch::kReflect);
  else
    options.mode(torch::kReplicate);
  return F::pad(images, options);
}

}  // namespace

torch::Tensor gaussian_kernel(int ksize, double sigma) {
  if (ksize < 1 || ksize % 2 == 0 || !(sigma > 0))
    throw Error("gaussian_kernel: needs an odd size and a positive sigma, got size " +
                std::to_string(ksize) + ", sigma " + std::to_string(sigma));
  const auto offsets = torch::arange(ksize, torch::kDouble) - (ksize - 1) / 2.0;
  const auto taps = torch::exp(-offsets * offsets / (2.0 * sigma * sigma));
  return taps / taps.sum();
}

torch::Tensor gaussian_blur(const torch::Tensor& images, int ksize, double sigma) {
  check_crops("gaussian_blur", images);
  const auto kernel = gaussian_kernel(ksize, sigma).to(images.device(), images.scalar_type());
  const auto n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  // Depthwise and separable: every channel as its own single-channel image.
  auto planes = pad_like_cv2(images.reshape({n * c, 1, h, w}), ksize / 2);
  planes = convolve(planes, kernel.view({1, 1, ksize, 1}));
  planes = convolve(planes, kernel.view({1, 1, 1, ksize}));
  return planes.view({n, c, h, w});
}

torch::Tensor denoise(const torch::Tensor& crops, float amount) {
  check_amount("denoise", amount);
  check_crops("denoise", crops);
  if (amount == 0.f) return crops;
  const auto h = crops.size(2), w = crops.size(3);
  const double spatial = std::max(1.0, static_cast<double>(w) / 512.0);
  const double range = 10.0 + 30.0 * amount;
  const int radius = static_cast<int>(std::ceil(2.0 * spatial));
  const auto padded = pad_like_cv2(crops, radius);
  // One shifted copy at a time: memory stays at a few crops whatever the
  // window, where unfold would hold (2r + 1)^2 of them.
  auto sum = torch::zeros_like(crops);
  auto weights = torch::zeros({crops.size(0), 1, h, w}, crops.options());
  for (int dy = -radius; dy <= radius; ++dy) {
    for (int dx = -radius; dx <= radius; ++dx) {
      const auto shifted =
          padded.slice(2, radius + dy, radius + dy + h).slice(3, radius + dx, radius + dx + w);
      const double space = (dx * dx + dy * dy) / (2.0 * spatial * spatial);
      const auto distance = (shifted - crops).square().sum(1, /*keepdim=*/true);
      const auto weight = torch::exp(distance * (-1.0 / (2.0 * range * range)) - space);
      sum.addcmul_(shifted, weight);
      weights.add_(weight);
    }
  }
  const auto filtered = sum / weights;
  return crops + (filtered - crops) * static_cast<double>(amount);
}

torch::Tensor sharpen(const torch::Tensor& crops, float amount) {
  check_amount("sharpen", amount);
  check_crops("sharpen", crops);
  if (amount == 0.f) return crops;
  const double sigma = std::max(0.8, static_cast<double>(crops.size(3)) / 512.0);
  const int ksize = 2 * static_cast<int>(std::ceil(3.0 * sigma)) + 1;
  const auto detail = crops - gaussian_blur(crops, ksize, sigma);
  return (crops + detail * static_cast<double>(amount)).clamp(0.0, 255.0);
}

}  // namespace gpen
