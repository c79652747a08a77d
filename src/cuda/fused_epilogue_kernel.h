// Launcher of the fused epilogue CUDA kernel, on raw channels-last buffers so
// that the .cu file needs no LibTorch headers (nvcc compiles it alone).
#pragma once

#include <cstdint>

#include "cuda/cuda_element_type.h"

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
  void* out = nullptr;                // [B, H, W, out_channels], or null (only `rgb` wanted)
  void* out_plain = nullptr;          // same, unscaled, or null
  // to_rgb folded in (rgb_fold_applies): the unscaled activations, rounded
  // as `out_plain` holds them, dotted with each face's three weight rows,
  // plus bias and skip, so that they need not be stored and read back.
  const float* rgb_weight = nullptr;  // [B, 3, out_channels], or null: no to_rgb
  const float* rgb_bias = nullptr;    // [3]
  const float* rgb_skip = nullptr;    // [B, 3, H, W], the upsampled RGB so far, or null
  float* rgb = nullptr;               // [B, 3, H, W]
  void* stream = nullptr;             // cudaStream_t
};

inline bool aligned_to(const void* p, unsigned bytes) {
  return reinterpret_cast<std::uintptr_t>(p) % bytes == 0;
}

// Whether every channel count and buffer allows 16-byte packets (else the
// kernel reads channel pairs).
inline bool epilogue_wide_packets(const EpilogueKernelArgs& a) {
  const int wide = packet_elements(a.type);
  const auto ok = [](const void* p) { return p == nullptr || aligned_to(p, 16); };
  return a.conv_channels % wide == 0 && a.out_channels % wide == 0 && ok(a.conv) && ok(a.out) &&
         ok(a.features) && ok(a.out_plain) && ok(a.out_scale) && ok(a.bias) && ok(a.next_scale) &&
         ok(a.rgb_weight);
}

// Whether the kernel can fold to_rgb into `a` (its rgb_* unset or not): 16-byte
// packets, no blur, activation, and each pixel's packets of the convolution's
// channels held by a power-of-two group of at most a warp's lanes, which sum
// by shuffles (GPEN-512's three largest levels in fp16, two in fp32).
inline bool rgb_fold_applies(const EpilogueKernelArgs& a) {
  if (a.blur || !a.activate || !epilogue_wide_packets(a)) return false;
  const int groups = a.conv_channels / packet_elements(a.type);
  return groups > 0 && groups <= 32 && (groups & (groups - 1)) == 0;
}

// Outputs per thread: R rows by X columns. The blur reads (R + 3) x (X + 3)
// input packets for R x X outputs, so it gains from more of them; elsewhere
// they save index arithmetic and cost registers. Compiled for 16-byte
// packets: 1x1, 2x1, 4x1, 1x2 and 2x2 (others round down to one of them);
// channel pairs take 2x1.
struct EpilogueBlock {
  int rows = 2, columns = 1;
};
struct EpilogueBlocking {
  // Rows measured (gpen-512 fp16 on an H100); two columns not yet measured there.
  EpilogueBlock blur{2, 1}, plain{2, 1};
};

// The blocking compiled for a request: rounded down to one that is.
inline EpilogueBlock compiled_epilogue_block(const EpilogueBlock& asked) {
  const int x = asked.columns >= 2 ? 2 : 1;
  return {asked.rows >= 4 && x == 1 ? 4 : asked.rows >= 2 ? 2 : 1, x};
}

// The blocking launches use: the default, or GPEN_EPILOGUE_ROWS=blur,plain
// and GPEN_EPILOGUE_COLUMNS=blur,plain (a tuning aid), read once.
const EpilogueBlocking& epilogue_blocking();

// Whether fused_epilogue folds to_rgb into the kernel where it can: yes,
// unless GPEN_FUSED_TO_RGB=0 (to measure against the separate kernel), read once.
bool fold_to_rgb();

// Returns an empty string, or the CUDA error's text.
const char* launch_fused_epilogue(const EpilogueKernelArgs& args,
                                  const EpilogueBlocking& blocking = epilogue_blocking());

}  // namespace gpen::cuda
