// to_rgb on the generator's fast path: a 1x1 convolution of the activations
// to RGB with each face's own (modulated) weight, its bias and the RGB so far
// (already upsampled), in fp32. On CUDA one kernel (to_rgb_kernel.cu) reads
// the activations once; elsewhere a batched matrix product.
#pragma once

#include <vector>

#include <torch/types.h>

#include "cuda/to_rgb_kernel.h"

namespace gpen {

// x: [B, C, H, W] activations (channels-last for the kernel); weight: [B, 3, C]
// fp32; bias: 3 fp32 values; skip: [B, 3, H, W] fp32, or undefined.
// Returns [B, 3, H, W] fp32.
torch::Tensor fused_to_rgb(const torch::Tensor& x, const torch::Tensor& weight,
                           const torch::Tensor& bias, const torch::Tensor& skip);

// The kernel's side, exposed so that tests can run its device code on the
// CPU (tests/test_kernel_emulation.cpp): whether the kernel takes these
// tensors, and its arguments for them (on any device; no stream set), with
// the output allocated and the tensors the arguments point into.
bool to_rgb_kernel_takes(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& skip);
struct ToRgbKernelLaunch {
  cuda::ToRgbKernelArgs args;
  torch::Tensor out;
  std::vector<torch::Tensor> inputs;  // kept alive for `args`
};
ToRgbKernelLaunch prepare_to_rgb_kernel(const torch::Tensor& x, const torch::Tensor& weight,
                                        const torch::Tensor& bias, const torch::Tensor& skip);

}  // namespace gpen
