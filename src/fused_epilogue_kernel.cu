// The fused epilogue (fused_epilogue.h) as one memory-bound CUDA kernel over
// channels-last buffers: 16-byte loads and stores where the channel counts
// allow (V = 8 for 2-byte types, 4 for float), else pairs; fp32 arithmetic,
// one rounding. The blur's taps are kernel parameters (constant memory), so
// its multiply-adds take them without a load.
#include "fused_epilogue_kernel.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "cuda_packets.cuh"

namespace gpen::cuda {
namespace {

constexpr int kBlurRows = 2, kPlainRows = 2;  // measured: gpen-512 fp16 on an H100

__device__ float activate(float v) {
  constexpr float kGain = 1.41421356237309515f;  // sqrt(2)
  return (v < 0.f ? 0.2f * v : v) * kGain;
}

// Bias, activation, the unscaled copy, the next layer's scaling and the
// stores, for R rows of V channels starting at `at` (channel index `c` of the
// output's `out_channels`).
template <typename T, int V, int R>
__device__ void finish(const EpilogueKernelArgs& a, float (&v)[R][V], int rows, int b, int c,
                       long long at, long long row_step) {
  T* out = static_cast<T*>(a.out);
  T* out_plain = static_cast<T*>(a.out_plain);
  if (a.activate) {
    float bias[V];
    load_floats<V>(a.bias + c, bias);
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int i = 0; i < V; ++i) v[r][i] = activate(v[r][i] + bias[i]);
  }
  if (out_plain != nullptr) {
#pragma unroll
    for (int r = 0; r < R; ++r)
      if (r < rows) store<T, V>(out_plain + at + r * row_step, v[r]);
  }
  if (a.next_scale != nullptr) {
    float scale[V];
    load_floats<V>(a.next_scale + static_cast<long long>(b) * a.out_channels + c, scale);
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int i = 0; i < V; ++i) v[r][i] *= scale[i];
  }
#pragma unroll
  for (int r = 0; r < R; ++r)
    if (r < rows) store<T, V>(out + at + r * row_step, v[r]);
}

// Each thread makes V adjacent channels of the convolution's part (and, when
// concatenating, the same channels of the features' part) for R vertically
// adjacent pixels of one image: the blur then reads (R + 3) x 4 input packets
// for R outputs instead of 16 per output, and the per-channel parameters are
// loaded once for R pixels. Thread index x runs over (pixel, channel group),
// so a warp's loads and stores are contiguous; grid y over strips of R rows.
template <typename T, int V, int R, bool kBlur>
__global__ void __launch_bounds__(256) fused_epilogue_kernel(EpilogueKernelArgs a) {
  const int C = a.conv_channels;
  const int groups = C / V;
  // 32-bit divisions (the launcher checks that the counts fit).
  const int row_items = static_cast<int>(a.width) * groups;
  const int strips_per_image = static_cast<int>((a.height + R - 1) / R);
  const int strips = static_cast<int>(a.batch) * strips_per_image;
  const T* conv = static_cast<const T*>(a.conv);
  const T* features = static_cast<const T*>(a.features);
  const long long out_row = a.width * a.out_channels;  // elements per output row

  for (int strip = blockIdx.y; strip < strips; strip += gridDim.y) {
    const int b = strip / strips_per_image;
    const long long y0 = static_cast<long long>(strip - b * strips_per_image) * R;
    const int rows = static_cast<int>(a.height - y0 < R ? a.height - y0 : R);
    for (int item = blockIdx.x * blockDim.x + threadIdx.x; item < row_items; item += gridDim.x * blockDim.x) {
      const int x = item / groups;
      const int c = (item - x * groups) * V;
      const long long pixel = (b * a.height + y0) * a.width + x;  // of row y0
      float v[R][V];
#pragma unroll
      for (int r = 0; r < R; ++r)
#pragma unroll
        for (int i = 0; i < V; ++i) v[r][i] = 0.f;

      if constexpr (kBlur) {
        // Input rows y0 - pad .. y0 + R + 2 - pad; output r takes rows r..r+3.
        // No branches around the loads (out-of-range taps read a clamped
        // address and count zero), so the compiler can keep several in flight.
        const long long conv_row = a.conv_width * C;
        const T* image = conv + b * a.conv_height * conv_row + c;
        long long column[4];
        bool column_ok[4];
#pragma unroll
        for (int kx = 0; kx < 4; ++kx) {
          const long long sx = x + kx - a.blur_pad;
          column_ok[kx] = sx >= 0 && sx < a.conv_width;
          column[kx] = (column_ok[kx] ? sx : 0) * C;
        }
#pragma unroll
        for (int j = 0; j < R + 3; ++j) {
          const long long sy = y0 - a.blur_pad + j;
          const bool row_ok = sy >= 0 && sy < a.conv_height;
          const T* line = image + (row_ok ? sy : 0) * conv_row;
          Packet<T, V> packets[4];
#pragma unroll
          for (int kx = 0; kx < 4; ++kx)
            packets[kx] = *reinterpret_cast<const Packet<T, V>*>(line + column[kx]);
#pragma unroll
          for (int kx = 0; kx < 4; ++kx) {
            const bool ok = row_ok && column_ok[kx];
            float s[V];
#pragma unroll
            for (int i = 0; i < V; ++i) s[i] = ok ? to_float(packets[kx].v[i]) : 0.f;
#pragma unroll
            for (int r = 0; r < R; ++r) {
              const int ky = j - r;
              if (ky < 0 || ky > 3) continue;  // known at compile time
              const float tap = a.blur_taps[ky * 4 + kx];
#pragma unroll
              for (int i = 0; i < V; ++i) v[r][i] += tap * s[i];
            }
          }
        }
      } else {
#pragma unroll
        for (int r = 0; r < R; ++r)
          if (r < rows) load<T, V>(conv + (pixel + r * a.width) * C + c, v[r]);
      }
      if (a.out_scale != nullptr) {
        float scale[V];
        load_floats<V>(a.out_scale + static_cast<long long>(b) * C + c, scale);
#pragma unroll
        for (int r = 0; r < R; ++r)
#pragma unroll
          for (int i = 0; i < V; ++i) v[r][i] *= scale[i];
      }
      if (features != nullptr && !a.concat) {
#pragma unroll
        for (int r = 0; r < R; ++r) {
          if (r >= rows) continue;
          float f[V];
          load<T, V>(features + (pixel + r * a.width) * C + c, f);
#pragma unroll
          for (int i = 0; i < V; ++i) v[r][i] += a.noise_weight * f[i];
        }
      }
      finish<T, V, R>(a, v, rows, b, c, pixel * a.out_channels + c, out_row);

      if (features != nullptr && a.concat) {
        // The same channels of the features' half: noise_weight * features.
#pragma unroll
        for (int r = 0; r < R; ++r) {
          if (r < rows) {
            load<T, V>(features + (pixel + r * a.width) * C + c, v[r]);
#pragma unroll
            for (int i = 0; i < V; ++i) v[r][i] *= a.noise_weight;
          }
        }
        finish<T, V, R>(a, v, rows, b, C + c, pixel * a.out_channels + C + c, out_row);
      }
    }
  }
}

bool aligned(const void* p, int bytes) {
  return reinterpret_cast<unsigned long long>(p) % static_cast<unsigned long long>(bytes) == 0;
}

template <typename T, int V, int R>
const char* launch_rows(const EpilogueKernelArgs& a) {
  constexpr int kThreads = 256;
  const long long row_items = a.width * (a.conv_channels / V);
  const long long strips = a.batch * ((a.height + R - 1) / R);
  if (strips == 0 || row_items == 0) return "";
  if (row_items > INT_MAX / 2 || strips > INT_MAX / 2) return "fused_epilogue: tensor too large";
  const dim3 grid(static_cast<unsigned>(std::min<long long>((row_items + kThreads - 1) / kThreads, 1024)),
                  static_cast<unsigned>(std::min<long long>(strips, 65535)));
  const auto stream = static_cast<cudaStream_t>(a.stream);
  if (a.blur)
    fused_epilogue_kernel<T, V, R, true><<<grid, kThreads, 0, stream>>>(a);
  else
    fused_epilogue_kernel<T, V, R, false><<<grid, kThreads, 0, stream>>>(a);
  const cudaError_t error = cudaGetLastError();
  return error == cudaSuccess ? "" : cudaGetErrorString(error);
}

// Rows per thread: the blur reads (R + 3) x 4 packets for R outputs, so it
// gains from more rows; elsewhere more rows only cost registers.
// GPEN_EPILOGUE_ROWS=blur,plain overrides (1, 2 or 4; a tuning aid).
template <typename T, int V>
const char* launch_with(const EpilogueKernelArgs& a) {
  static const std::pair<int, int> rows = [] {
    std::pair<int, int> r{kBlurRows, kPlainRows};
    if (const char* text = std::getenv("GPEN_EPILOGUE_ROWS"))
      std::sscanf(text, "%d,%d", &r.first, &r.second);
    return r;
  }();
  switch (a.blur ? rows.first : rows.second) {
    case 1: return launch_rows<T, V, 1>(a);
    case 2: return launch_rows<T, V, 2>(a);
    default: return launch_rows<T, V, 4>(a);
  }
}

// 16-byte packets when every channel count and buffer allows them.
template <typename T>
const char* launch(const EpilogueKernelArgs& a) {
  constexpr int kWide = 16 / sizeof(T);
  const bool wide = a.conv_channels % kWide == 0 && a.out_channels % kWide == 0 &&
                    aligned(a.conv, 16) && aligned(a.out, 16) &&
                    (a.features == nullptr || aligned(a.features, 16)) &&
                    (a.out_plain == nullptr || aligned(a.out_plain, 16)) &&
                    (a.out_scale == nullptr || aligned(a.out_scale, 16)) &&
                    (a.bias == nullptr || aligned(a.bias, 16)) &&
                    (a.next_scale == nullptr || aligned(a.next_scale, 16));
  return wide ? launch_with<T, kWide>(a) : launch_with<T, 2>(a);
}

}  // namespace

const char* launch_fused_epilogue(const EpilogueKernelArgs& args) {
  switch (args.type) {
    case ElementType::F16: return launch<__half>(args);
    case ElementType::BF16: return launch<__nv_bfloat16>(args);
    case ElementType::F32: break;
  }
  return launch<float>(args);
}

}  // namespace gpen::cuda
