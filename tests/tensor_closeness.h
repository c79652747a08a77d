// How close a computed tensor is to its reference, for the tests of the
// CUDA paths and of half precision.
#pragma once

#include <cmath>

#include <torch/torch.h>

// PSNR of `out` against `ref` over the reference's own range of values.
inline double psnr(const torch::Tensor& ref, const torch::Tensor& out) {
  const auto r = ref.to(torch::kCPU, torch::kDouble), o = out.to(torch::kCPU, torch::kDouble);
  const double range = (r.max() - r.min()).item<double>();
  const double mse = (r - o).pow(2).mean().item<double>();
  return mse == 0.0 ? INFINITY : 10.0 * std::log10(range * range / mse);
}

// The largest difference, relative to the reference's largest magnitude.
inline double relative_max_diff(const torch::Tensor& ref, const torch::Tensor& out) {
  const auto r = ref.to(torch::kCPU, torch::kFloat), o = out.to(torch::kCPU, torch::kFloat);
  return (r - o).abs().max().item<double>() / r.abs().max().item<double>();
}
