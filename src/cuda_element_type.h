// The element types the CUDA kernels take, in headers nvcc compiles without
// LibTorch.
#pragma once

namespace gpen::cuda {

enum class ElementType { F32, F16, BF16 };

}  // namespace gpen::cuda
