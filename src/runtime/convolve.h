// convolve: a 2-D convolution that runs on oneDNN on the CPU whatever its shapes.
//
// Why: LibTorch 1.13 sends a float convolution on the CPU to its im2col path
// instead of oneDNN when it runs on one thread with a 1x1 kernel, or when the
// input holds under 20,480 values and the kernel is at most 3x3 (a heuristic
// of its dispatcher). That path multiplies through the system BLAS, which on
// Debian is the unoptimised reference libblas3 unless another is installed:
// RetinaFace-R50 on one thread ran eight times slower than on oneDNN.
#pragma once

#include <array>
#include <cstdint>

#include <torch/types.h>

namespace gpen {

// torch::conv2d(input, weight, bias, stride, padding, dilation 1, groups),
// square stride and padding. `bias` may be undefined.
torch::Tensor convolve(const torch::Tensor& input, const torch::Tensor& weight,
                      const torch::Tensor& bias = {}, std::int64_t stride = 1,
                      std::int64_t padding = 0, std::int64_t groups = 1);
// The same with padding {rows, columns}, each on both sides.
torch::Tensor convolve(const torch::Tensor& input, const torch::Tensor& weight,
                      const torch::Tensor& bias, std::int64_t stride,
                      std::array<std::int64_t, 2> padding, std::int64_t groups = 1);

}  // namespace gpen
