// What the host side of every CUDA kernel asks of its tensors (fused_epilogue,
// fused_to_rgb): the kernel's element type for a dtype, and alignment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <torch/types.h>

#include "cuda/cuda_element_type.h"

namespace gpen {

// The kernels' element type for `dtype`, or nullopt when they do not take it.
inline std::optional<cuda::ElementType> kernel_element_type(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat: return cuda::ElementType::F32;
    case torch::kHalf: return cuda::ElementType::F16;
    case torch::kBFloat16: return cuda::ElementType::BF16;
    default: return std::nullopt;
  }
}

// Whether the tensor's data starts on a multiple of `bytes`.
inline bool data_aligned(const torch::Tensor& t, std::size_t bytes) {
  return reinterpret_cast<std::uintptr_t>(t.data_ptr()) % bytes == 0;
}

}  // namespace gpen
