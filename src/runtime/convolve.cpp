#include "runtime/convolve.h"

#include <ATen/Context.h>
#include <ATen/ops/mkldnn_convolution.h>
#include <torch/torch.h>

namespace gpen {

namespace {

// oneDNN's bf16 convolutions need AVX-512 BW, VL and DQ (LibTorch checks the
// same before it calls them); elsewhere LibTorch's own path computes them.
bool onednn_takes_bf16() {
#if defined(__x86_64__)
  static const bool supported = __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl") &&
                                __builtin_cpu_supports("avx512dq");
  return supported;
#else
  return false;
#endif
}

bool runs_on_onednn(const torch::Tensor& input, const torch::Tensor& weight) {
  const auto dtype = input.scalar_type();
  return input.device().is_cpu() && weight.device().is_cpu() &&
         (dtype == torch::kFloat || (dtype == torch::kBFloat16 && onednn_takes_bf16())) &&
         weight.scalar_type() == dtype &&
         input.dim() == 4 && weight.dim() == 4 && input.numel() > 0 && at::hasMKLDNN();
}

}  // namespace

torch::Tensor convolve(const torch::Tensor& input, const torch::Tensor& weight,
                      const torch::Tensor& bias, std::int64_t stride, std::int64_t padding,
                      std::int64_t groups) {
  return convolve(input, weight, bias, stride, {padding, padding}, groups);
}

torch::Tensor convolve(const torch::Tensor& input, const torch::Tensor& weight,
                      const torch::Tensor& bias, std::int64_t stride,
                      std::array<std::int64_t, 2> padding, std::int64_t groups) {
  if (!runs_on_onednn(input, weight))
    return torch::conv2d(input, weight, bias, stride, padding, /*dilation=*/1, groups);
  // What LibTorch's dispatcher does before it calls oneDNN itself: both
  // operands in one layout, channels-last when either is.
  const auto format = input.suggest_memory_format() == torch::MemoryFormat::ChannelsLast ||
                              weight.suggest_memory_format() == torch::MemoryFormat::ChannelsLast
                          ? torch::MemoryFormat::ChannelsLast
                          : torch::MemoryFormat::Contiguous;
  return at::mkldnn_convolution(input.contiguous(format), weight.contiguous(format),
                                bias.defined() ? bias.contiguous() : bias, padding,
                                {stride, stride}, /*dilation=*/{1, 1}, groups);
}

}  // namespace gpen
