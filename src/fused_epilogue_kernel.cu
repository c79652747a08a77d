// The fused epilogue (fused_epilogue.h) as one memory-bound CUDA kernel over
// channels-last buffers. Each thread makes two adjacent channels of one pixel
// (paired 4- or 8-byte loads and stores; channel counts are even), computes
// in fp32 and rounds once. Rows (batch x height) run along the grid's y axis.
#include "fused_epilogue_kernel.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>

namespace gpen::cuda {
namespace {

template <typename T>
struct Pair;

template <>
struct Pair<float> {
  static __device__ float2 load(const float* p) { return *reinterpret_cast<const float2*>(p); }
  static __device__ void store(float* p, float2 v) { *reinterpret_cast<float2*>(p) = v; }
};

template <>
struct Pair<__half> {
  static __device__ float2 load(const __half* p) {
    return __half22float2(*reinterpret_cast<const __half2*>(p));
  }
  static __device__ void store(__half* p, float2 v) {
    *reinterpret_cast<__half2*>(p) = __float22half2_rn(v);
  }
};

template <>
struct Pair<__nv_bfloat16> {
  static __device__ float2 load(const __nv_bfloat16* p) {
    return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p));
  }
  static __device__ void store(__nv_bfloat16* p, float2 v) {
    *reinterpret_cast<__nv_bfloat162*>(p) = __float22bfloat162_rn(v);
  }
};

__device__ float activate(float v) {
  constexpr float kGain = 1.41421356237309515f;  // sqrt(2)
  return (v < 0.f ? 0.2f * v : v) * kGain;
}

template <typename T>
__global__ void fused_epilogue_kernel(EpilogueKernelArgs a) {
  using P = Pair<T>;
  const int pairs = a.out_channels / 2;
  const int row_items = static_cast<int>(a.width) * pairs;
  const int C = a.conv_channels;
  const T* conv = static_cast<const T*>(a.conv);
  const T* features = static_cast<const T*>(a.features);
  T* out = static_cast<T*>(a.out);
  T* out_plain = static_cast<T*>(a.out_plain);

  for (long long row = blockIdx.y; row < a.batch * a.height; row += gridDim.y) {
    const long long b = row / a.height;
    const long long y = row - b * a.height;
    for (int item = blockIdx.x * blockDim.x + threadIdx.x; item < row_items;
         item += gridDim.x * blockDim.x) {
      const int x = item / pairs;
      const int c = (item - x * pairs) * 2;
      const long long pixel = row * a.width + x;
      float2 v;
      if (c < C) {
        if (a.blur_taps != nullptr) {
          v = make_float2(0.f, 0.f);
#pragma unroll
          for (int ky = 0; ky < 4; ++ky) {
            const long long sy = y + ky - a.blur_pad;
            if (sy < 0 || sy >= a.conv_height) continue;
#pragma unroll
            for (int kx = 0; kx < 4; ++kx) {
              const long long sx = x + kx - a.blur_pad;
              if (sx < 0 || sx >= a.conv_width) continue;
              const float tap = a.blur_taps[ky * 4 + kx];
              const float2 s = P::load(conv + ((b * a.conv_height + sy) * a.conv_width + sx) * C + c);
              v.x += tap * s.x;
              v.y += tap * s.y;
            }
          }
        } else {
          v = P::load(conv + pixel * C + c);
        }
        if (a.out_scale != nullptr) {
          v.x *= a.out_scale[b * C + c];
          v.y *= a.out_scale[b * C + c + 1];
        }
        if (features != nullptr && !a.concat) {
          const float2 f = P::load(features + pixel * C + c);
          v.x += a.noise_weight * f.x;
          v.y += a.noise_weight * f.y;
        }
      } else {
        const float2 f = P::load(features + pixel * C + (c - C));
        v = make_float2(a.noise_weight * f.x, a.noise_weight * f.y);
      }
      v.x = activate(v.x + a.bias[c]);
      v.y = activate(v.y + a.bias[c + 1]);
      const long long at = pixel * a.out_channels + c;
      if (out_plain != nullptr) P::store(out_plain + at, v);
      if (a.next_scale != nullptr) {
        v.x *= a.next_scale[b * a.out_channels + c];
        v.y *= a.next_scale[b * a.out_channels + c + 1];
      }
      P::store(out + at, v);
    }
  }
}

template <typename T>
const char* launch(const EpilogueKernelArgs& a) {
  constexpr int kThreads = 256;
  const long long row_items = a.width * (a.out_channels / 2);
  const long long rows = a.batch * a.height;
  if (rows == 0 || row_items == 0) return "";
  const dim3 grid(static_cast<unsigned>(std::min<long long>((row_items + kThreads - 1) / kThreads, 1024)),
                  static_cast<unsigned>(std::min<long long>(rows, 65535)));
  fused_epilogue_kernel<T><<<grid, kThreads, 0, static_cast<cudaStream_t>(a.stream)>>>(a);
  const cudaError_t error = cudaGetLastError();
  return error == cudaSuccess ? "" : cudaGetErrorString(error);
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
