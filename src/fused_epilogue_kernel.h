// Launcher of the fused epilogue CUDA kernel, on raw channels-last buffers so
// that the .cu file needs no LibTorch headers (nvcc compiles it alone).
#pragma once

#include <cstdint>

#include "cuda_element_type.h"

namespace gpen::cuda {

struct EpilogueKernelArgs {
  ElementType type = ElementType::F32;
  std::int64_t batch = 0, height = 0, width = 0;  // of the output
  int conv_channels = 0;                          // C
  int out_channels = 0;                           // 2C when concatenating, else C
  const void* conv = nullptr;                     // [B, Hc, Wc, C]
  std::int64_t conv_height = 0, conv_width = 0;
  bool blur = false;        // a 4x4 blur of `conv` first
  float blur_taps[16] = {};  // its taps, flipped (true FIR), by value
  int blur_pad = 0;          // padding before, on both axes
  const float* out_scale = nullptr;  // [B, C] or null
  const void* features = nullptr;    // [B, H, W, C] or null
  float noise_weight = 0.f;
  bool concat = true;
  bool activate = true;               // bias, leaky ReLU and gain; else a linear filter
  const float* bias = nullptr;        // [out_channels], when activating
  const float* next_scale = nullptr;  // [B, out_channels] or null
  void* out = nullptr;                // [B, H, W, out_channels]
  void* out_plain = nullptr;          // same, unscaled, or null
  void* stream = nullptr;             // cudaStream_t
};

// Returns an empty string, or the CUDA error's text.
const char* launch_fused_epilogue(const EpilogueKernelArgs& args);

}  // namespace gpen::cuda
