// The element types the CUDA kernels take, in headers nvcc compiles without
// LibTorch.
#pragma once

namespace gpen::cuda {

enum class ElementType { F32, F16, BF16 };

// Elements of `type` in one 16-byte packet, the kernels' widest access.
inline int packet_elements(ElementType type) { return type == ElementType::F32 ? 4 : 8; }

}  // namespace gpen::cuda
