// Launcher of the to_rgb CUDA kernel (fused_to_rgb.h), on raw buffers so that
// the .cu file needs no LibTorch headers.
#pragma once

#include <cstdint>

#include "cuda/cuda_element_type.h"

namespace gpen::cuda {

struct ToRgbKernelArgs {
  ElementType type = ElementType::F32;
  std::int64_t batch = 0, height = 0, width = 0;
  int channels = 0;
  const void* x = nullptr;        // [B, H, W, C], channels-last activations
  const float* weight = nullptr;  // [B, 3, C]: each face's modulated 1x1 weight
  const float* bias = nullptr;    // [3]
  const float* skip = nullptr;    // [B, 3, H, W], the upsampled RGB so far, or null
  float* out = nullptr;           // [B, 3, H, W]
  void* stream = nullptr;         // cudaStream_t
};

// The lanes that share a pixel with `groups` 16-byte packets: one a packet,
// at most a warp.
inline int to_rgb_lanes(int groups) { return groups < 32 ? groups : 32; }

// Whether the kernel takes `channels` channels of 2- or 4-byte elements:
// whole 16-byte packets whose count per pixel a power-of-two group of lanes
// (at most a warp) divides.
inline bool to_rgb_kernel_applies(int channels, int element_size) {
  if (element_size != 2 && element_size != 4) return false;
  const int v = 16 / element_size;
  if (channels <= 0 || channels % v != 0) return false;
  const int groups = channels / v;
  const int lanes = to_rgb_lanes(groups);
  return (lanes & (lanes - 1)) == 0 && groups % lanes == 0;
}

// Returns an empty string, or the CUDA error's text.
const char* launch_to_rgb(const ToRgbKernelArgs& args);

}  // namespace gpen::cuda
