// The fused epilogue's device code (fused_epilogue_kernel.cu launches it):
// one memory-bound pass over channels-last buffers, 16-byte loads and stores
// where the channel counts allow (V = 8 for 2-byte types, 4 for float), else
// pairs; fp32 arithmetic, one rounding. The blur's taps are kernel parameters
// (constant memory), so its multiply-adds take them without a load.
//
// With to_rgb folded in, the lanes that hold one pixel's channels sum its
// three colours by shuffles among themselves, a warp's lanes in step.
//
// Kept apart from the launcher so that tests/test_kernel_emulation.cpp can
// compile it as host C++ (tests/cuda_emulation.h) and run every thread of a
// launch on the CPU: the threads share nothing but those shuffles, so running
// them one after the other (each warp's lanes side by side when they shuffle)
// computes what the GPU does, and the kernel's indexing is checked where
// there is no GPU.
#pragma once

#include <algorithm>
#include <climits>

#include "cuda/cuda_packets.cuh"
#include "cuda/fused_epilogue_kernel.h"

namespace gpen::cuda {

namespace epilogue_detail {

__device__ inline float activate(float v) {
  constexpr float kGain = 1.41421356237309515f;  // sqrt(2)
  return (v < 0.f ? 0.2f * v : v) * kGain;
}

// v[r][x][i] *= scale[i] over the block (per-channel factors).
template <int V, int R, int X>
__device__ void scale_block(float (&v)[R][X][V], const float* scale) {
  float s[V];
  load_floats<V>(scale, s);
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int x = 0; x < X; ++x)
#pragma unroll
      for (int i = 0; i < V; ++i) v[r][x][i] *= s[i];
}

// Stores the block's outputs that lie inside the image: (r, x) at
// out + r * row_step + x * column_step.
template <typename T, int V, int R, int X>
__device__ void store_block(T* out, const float (&v)[R][X][V], int rows, int columns, int row_step,
                            int column_step) {
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int x = 0; x < X; ++x)
      if (r < rows && x < columns) store<T, V>(out + r * row_step + x * column_step, v[r][x]);
}

// Adds the outputs' activations (channels c .. c + V, rounded to T as a
// stored copy holds them) dotted with to_rgb's three weight rows (`weight`:
// [3, out_channels]) to each output's three sums.
template <typename T, int V, int R, int X>
__device__ void add_rgb(const float (&v)[R][X][V], const float* weight, int out_channels, int c,
                        float (&rgb)[R][X][3]) {
#pragma unroll
  for (int k = 0; k < 3; ++k) {
    float w[V];
    load_floats<V>(weight + k * out_channels + c, w);
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int x = 0; x < X; ++x)
#pragma unroll
        for (int i = 0; i < V; ++i) rgb[r][x][k] += to_float(from_float<T>(v[r][x][i])) * w[i];
  }
}

// Bias, activation, the unscaled copy (or its part of to_rgb, kRgb), the
// next layer's scaling and the stores of R x X outputs of V channels
// (channel `c` of `out_channels`); `at` is the first's offset in the image's
// output, rows `row_step` apart. `out` null: the activations are not kept.
template <typename T, int V, int R, int X, bool kRgb>
__device__ void finish(const EpilogueKernelArgs& a, float (&v)[R][X][V], int rows, int columns,
                       T* out, T* out_plain, const float* next_scale, const float* rgb_weight,
                       float (&rgb)[R][X][3], int c, int at, int row_step) {
  if (a.activate) {
    float bias[V];
    load_floats<V>(a.bias + c, bias);
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int x = 0; x < X; ++x)
#pragma unroll
        for (int i = 0; i < V; ++i) v[r][x][i] = activate(v[r][x][i] + bias[i]);
  }
  if constexpr (kRgb) add_rgb<T, V, R, X>(v, rgb_weight, a.out_channels, c, rgb);
  if (out_plain != nullptr) store_block<T, V, R, X>(out_plain + at, v, rows, columns, row_step, a.out_channels);
  if (out == nullptr) return;
  if (next_scale != nullptr) scale_block<V, R, X>(v, next_scale + c);
  store_block<T, V, R, X>(out + at, v, rows, columns, row_step, a.out_channels);
}

// to_rgb's end (kRgb): the `groups` lanes that share the block's pixels (a
// power of two, aligned in the warp) sum their parts by shuffles within
// their group (the whole warp takes part: a full mask, which the compiler
// turns into plain shuffles where a group's mask costs a convergence loop);
// then lane k of the group stores colour k of each output, with bias and
// skip. `plane` is the image's H * W, `at` the first output's pixel.
template <int R, int X>
__device__ void store_rgb(const EpilogueKernelArgs& a, float (&rgb)[R][X][3], int groups, int sub,
                          long long b, int plane, int at, int width, int rows, int columns) {
  for (int offset = groups / 2; offset > 0; offset /= 2)
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int x = 0; x < X; ++x)
#pragma unroll
        for (int k = 0; k < 3; ++k) rgb[r][x][k] += __shfl_xor_sync(0xffffffffu, rgb[r][x][k], offset);
#pragma unroll
  for (int k = 0; k < 3; ++k) {
    if (sub != k % groups) continue;
    const long long colour = (b * 3 + k) * plane;
    float* out = a.rgb + colour;
    const float* skip = a.rgb_skip != nullptr ? a.rgb_skip + colour : nullptr;
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int x = 0; x < X; ++x)
        if (r < rows && x < columns) {
          const int o = at + r * width + x;
          out[o] = rgb[r][x][k] + a.rgb_bias[k] + (skip != nullptr ? skip[o] : 0.f);
        }
  }
}

// The blur's part of R x X outputs, added to v: input rows y0 - pad ..
// y0 + R + 2 - pad; output (r, x) takes rows r..r+3 and columns x..x+3 of
// them. kEdge: some taps fall outside the image; they read a clamped address
// and count zero (no branches around the loads, so the compiler can keep
// several in flight). Blocks inside the image skip those checks.
template <typename T, int V, int R, int X, bool kEdge>
__device__ void blur_block(const EpilogueKernelArgs& a, const T* conv, int conv_width, int conv_height, int x0,
                           int y0, int c, float (&v)[R][X][V]) {
  constexpr int kColumns = X + 3;
  const int C = a.conv_channels;
  const int conv_row = conv_width * C;
  int column[kColumns];
  bool column_ok[kColumns];
#pragma unroll
  for (int k = 0; k < kColumns; ++k) {
    const int sx = x0 + k - a.blur_pad;
    column_ok[k] = !kEdge || (sx >= 0 && sx < conv_width);
    column[k] = (column_ok[k] ? sx : 0) * C + c;
  }
#pragma unroll
  for (int j = 0; j < R + 3; ++j) {
    const int sy = y0 - a.blur_pad + j;
    const bool row_ok = !kEdge || (sy >= 0 && sy < conv_height);
    const T* line = conv + (row_ok ? sy : 0) * conv_row;
    Packet<T, V> packets[kColumns];
#pragma unroll
    for (int k = 0; k < kColumns; ++k) packets[k] = *reinterpret_cast<const Packet<T, V>*>(line + column[k]);
#pragma unroll
    for (int k = 0; k < kColumns; ++k) {
      const bool ok = row_ok && column_ok[k];
      float s[V];
#pragma unroll
      for (int i = 0; i < V; ++i) s[i] = ok ? to_float(packets[k].v[i]) : 0.f;
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int ky = j - r;
        if (ky < 0 || ky > 3) continue;  // known at compile time
#pragma unroll
        for (int x = 0; x < X; ++x) {
          const int kx = k - x;
          if (kx < 0 || kx > 3) continue;
          const float tap = a.blur_taps[ky * 4 + kx];
#pragma unroll
          for (int i = 0; i < V; ++i) v[r][x][i] += tap * s[i];
        }
      }
    }
  }
}

// Each thread makes V adjacent channels of the convolution's part (and, when
// concatenating, the same channels of the features' part) for a block of R
// rows by X columns of one image: the per-channel parameters are loaded once
// for the block. Thread index x runs over (column block, channel group), so a
// warp's loads and stores are contiguous; grid y over strips of R rows.
// Offsets within an image are 32-bit (the launcher checks that they fit).
// At least 3 blocks of 256 threads an SM (85 registers a thread) for one or
// two outputs a thread, 2 for more: ptxas otherwise takes registers that
// cost occupancy (95 for 2x1 with the blur), where the kernel needs many
// loads in flight. With to_rgb folded in, two outputs take 2 blocks too
// (113 registers for 2x1 in fp16 on sm_90; held to 80 it spilled 64 bytes).
template <typename T, int V, int R, int X, bool kBlur, bool kRgb>
__global__ void __launch_bounds__(256, R * X == 1 || (R * X == 2 && !kRgb) ? 3 : 2)
    fused_epilogue_kernel(EpilogueKernelArgs a) {
  const int C = a.conv_channels;
  const int groups = C / V;
  const int width = static_cast<int>(a.width), height = static_cast<int>(a.height);
  const int row_items = (width + X - 1) / X * groups;
  const int strips_per_image = (height + R - 1) / R;
  const int strips = static_cast<int>(a.batch) * strips_per_image;
  const int conv_width = static_cast<int>(a.conv_width), conv_height = static_cast<int>(a.conv_height);
  const int conv_row = conv_width * C;  // elements per row
  const int features_row = width * C;
  const int out_row = width * a.out_channels;

  for (int strip = blockIdx.y; strip < strips; strip += gridDim.y) {
    const int b = strip / strips_per_image;
    const int y0 = (strip - b * strips_per_image) * R;
    const int rows = height - y0 < R ? height - y0 : R;
    const T* conv = static_cast<const T*>(a.conv) + b * a.conv_height * conv_row;
    const T* features =
        a.features != nullptr ? static_cast<const T*>(a.features) + b * a.height * features_row : nullptr;
    T* out = a.out != nullptr ? static_cast<T*>(a.out) + b * a.height * out_row : nullptr;
    T* out_plain = a.out_plain != nullptr ? static_cast<T*>(a.out_plain) + b * a.height * out_row : nullptr;
    const float* out_scale = a.out_scale != nullptr ? a.out_scale + b * C : nullptr;
    const float* next_scale = a.next_scale != nullptr ? a.next_scale + b * a.out_channels : nullptr;
    const float* rgb_weight = kRgb ? a.rgb_weight + b * 3 * a.out_channels : nullptr;

    // kRgb: a warp's lanes go round together, as its shuffles take them all;
    // lanes past the last item redo it without storing (whole groups: the
    // warp's start and row_items are multiples of `groups`).
    const int lane_offset = kRgb ? static_cast<int>(threadIdx.x % 32) : 0;
    for (int first = blockIdx.x * blockDim.x + threadIdx.x - lane_offset; first < row_items;
         first += gridDim.x * blockDim.x) {
      const bool past_end = kRgb && first + lane_offset >= row_items;
      const int item = past_end ? row_items - 1 : first + lane_offset;
      const int stored_rows = past_end ? 0 : rows;
      const int block = item / groups;
      const int c = (item - block * groups) * V;
      const int x0 = block * X;
      const int columns = X == 1 || x0 + X <= width ? X : width - x0;  // a column is always whole
      // Outputs past the image's last row or column load its last pixel's
      // inputs (and are not stored), so loads need no branches.
      const auto pixel = [&](int r, int x) {
        return (y0 + (r < rows ? r : rows - 1)) * width + x0 + (x < columns ? x : columns - 1);
      };
      float v[R][X][V];
#pragma unroll
      for (int r = 0; r < R; ++r)
#pragma unroll
        for (int x = 0; x < X; ++x)
#pragma unroll
          for (int i = 0; i < V; ++i) v[r][x][i] = 0.f;

      if constexpr (kBlur) {
        // Only blocks at the image's edges check their taps.
        const int pad = a.blur_pad;
        if (x0 >= pad && x0 + X + 2 - pad < conv_width && y0 >= pad && y0 + R + 2 - pad < conv_height)
          blur_block<T, V, R, X, false>(a, conv, conv_width, conv_height, x0, y0, c, v);
        else
          blur_block<T, V, R, X, true>(a, conv, conv_width, conv_height, x0, y0, c, v);
      } else {
#pragma unroll
        for (int r = 0; r < R; ++r)
#pragma unroll
          for (int x = 0; x < X; ++x) load<T, V>(conv + pixel(r, x) * C + c, v[r][x]);  // same size as the output
      }
      if (out_scale != nullptr) scale_block<V, R, X>(v, out_scale + c);
      if (features != nullptr && !a.concat) {
#pragma unroll
        for (int r = 0; r < R; ++r)
#pragma unroll
          for (int x = 0; x < X; ++x) {
            float f[V];
            load<T, V>(features + pixel(r, x) * C + c, f);
#pragma unroll
            for (int i = 0; i < V; ++i) v[r][x][i] += a.noise_weight * f[i];
          }
      }
      float rgb[R][X][3];
#pragma unroll
      for (int r = 0; r < R; ++r)
#pragma unroll
        for (int x = 0; x < X; ++x)
#pragma unroll
          for (int k = 0; k < 3; ++k) rgb[r][x][k] = 0.f;
      const int out_at = y0 * out_row + x0 * a.out_channels;
      finish<T, V, R, X, kRgb>(a, v, stored_rows, columns, out, out_plain, next_scale, rgb_weight, rgb, c,
                               out_at + c, out_row);

      if (features != nullptr && a.concat) {
        // The same channels of the features' half: noise_weight * features.
#pragma unroll
        for (int r = 0; r < R; ++r)
#pragma unroll
          for (int x = 0; x < X; ++x) {
            load<T, V>(features + pixel(r, x) * C + c, v[r][x]);
#pragma unroll
            for (int i = 0; i < V; ++i) v[r][x][i] *= a.noise_weight;
          }
        finish<T, V, R, X, kRgb>(a, v, stored_rows, columns, out, out_plain, next_scale, rgb_weight, rgb,
                                 C + c, out_at + C + c, out_row);
      }
      if constexpr (kRgb)
        store_rgb<R, X>(a, rgb, groups, c / V, b, height * width, y0 * width + x0, width, stored_rows, columns);
    }
  }
}

using Kernel = void (*)(EpilogueKernelArgs);

// The variants a launch picks from: after a blur, plain, or plain with
// to_rgb folded in (never after a blur: GPEN's to_rgb follows the plain
// convolution of each level).
enum class Variant { kBlur, kPlain, kRgb };

template <typename T, int V, int R, int X>
Kernel pick_kernel(Variant variant) {
  switch (variant) {
    case Variant::kBlur: return fused_epilogue_kernel<T, V, R, X, true, false>;
    case Variant::kRgb:
      if constexpr (sizeof(T) * V == 16) return fused_epilogue_kernel<T, V, R, X, false, true>;
      break;  // pairs never fold (rgb_fold_applies)
    case Variant::kPlain: break;
  }
  return fused_epilogue_kernel<T, V, R, X, false, false>;
}

template <typename T, int V>
Kernel pick_block(Variant variant, EpilogueBlock block) {
  if (block.columns == 2)
    return block.rows == 1 ? pick_kernel<T, V, 1, 2>(variant) : pick_kernel<T, V, 2, 2>(variant);
  switch (block.rows) {
    case 1: return pick_kernel<T, V, 1, 1>(variant);
    case 2: return pick_kernel<T, V, 2, 1>(variant);
    default: return pick_kernel<T, V, 4, 1>(variant);
  }
}

template <typename T, class Launch>
const char* dispatch_typed(const EpilogueKernelArgs& a, const EpilogueBlocking& blocking, Launch&& launch) {
  constexpr int kThreads = 256;
  constexpr int kWide = 16 / sizeof(T);
  const bool wide = epilogue_wide_packets(a);
  const bool rgb = a.rgb_weight != nullptr;
  if (rgb && (!rgb_fold_applies(a) || a.rgb == nullptr || a.rgb_bias == nullptr))
    return "fused_epilogue: cannot fold to_rgb into these arguments";
  const int v = wide ? kWide : 2;
  const EpilogueBlock block = wide ? compiled_epilogue_block(a.blur ? blocking.blur : blocking.plain)
                                   : EpilogueBlock{2, 1};
  const long long row_items = (a.width + block.columns - 1) / block.columns * (a.conv_channels / v);
  const long long strips = a.batch * ((a.height + block.rows - 1) / block.rows);
  if (strips == 0 || row_items == 0) return "";
  // 32-bit offsets within an image, and counts with room for a stride.
  const long long image_elements =
      std::max(a.conv_height * a.conv_width * a.conv_channels, a.height * a.width * a.out_channels);
  if (row_items > INT_MAX / 2 || strips > INT_MAX / 2 || image_elements > INT_MAX / 2)
    return "fused_epilogue: tensor too large";
  if (!rgb && a.out == nullptr && a.out_plain == nullptr) return "fused_epilogue: no output";
  const dim3 grid(static_cast<unsigned>(std::min<long long>((row_items + kThreads - 1) / kThreads, 1024)),
                  static_cast<unsigned>(std::min<long long>(strips, 65535)));
  // Pairs (channel counts GPEN does not have) keep one blocking: fewer kernels to compile.
  const Variant variant = rgb ? Variant::kRgb : a.blur ? Variant::kBlur : Variant::kPlain;
  const Kernel kernel = wide ? pick_block<T, kWide>(variant, block) : pick_kernel<T, 2, 2, 1>(variant);
  return launch(kernel, grid, dim3(kThreads));
}

}  // namespace epilogue_detail

// Chooses the kernel for `a` (element type, packet width, blocking) and its
// grid, and calls launch(kernel, grid, block) -> error text or "".
template <class Launch>
const char* dispatch_fused_epilogue(const EpilogueKernelArgs& a, const EpilogueBlocking& blocking, Launch&& launch) {
  switch (a.type) {
    case ElementType::F16: return epilogue_detail::dispatch_typed<__half>(a, blocking, launch);
    case ElementType::BF16: return epilogue_detail::dispatch_typed<__nv_bfloat16>(a, blocking, launch);
    case ElementType::F32: break;
  }
  return epilogue_detail::dispatch_typed<float>(a, blocking, launch);
}

}  // namespace gpen::cuda
