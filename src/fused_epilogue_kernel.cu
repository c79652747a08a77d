// The fused epilogue (fused_epilogue.h) as one memory-bound CUDA kernel over
// channels-last buffers. Each thread makes V adjacent channels of one pixel:
// 16-byte loads and stores where the channel counts allow (V = 8 for 2-byte
// types, 4 for float), else pairs. It computes in fp32 and rounds once. Rows
// (batch x height) run along the grid's y axis.
#include "fused_epilogue_kernel.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>

namespace gpen::cuda {
namespace {

__device__ float to_float(float v) { return v; }
__device__ float to_float(__half v) { return __half2float(v); }
__device__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ T from_float(float v);
template <>
__device__ float from_float<float>(float v) { return v; }
template <>
__device__ __half from_float<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// V elements moved as one aligned access.
template <typename T, int V>
struct alignas(sizeof(T) * V) Packet {
  T v[V];
};

template <typename T, int V>
__device__ void load(const T* p, float (&out)[V]) {
  const Packet<T, V> packet = *reinterpret_cast<const Packet<T, V>*>(p);
#pragma unroll
  for (int i = 0; i < V; ++i) out[i] = to_float(packet.v[i]);
}

template <typename T, int V>
__device__ void store(T* p, const float (&in)[V]) {
  Packet<T, V> packet;
#pragma unroll
  for (int i = 0; i < V; ++i) packet.v[i] = from_float<T>(in[i]);
  *reinterpret_cast<Packet<T, V>*>(p) = packet;
}

__device__ float activate(float v) {
  constexpr float kGain = 1.41421356237309515f;  // sqrt(2)
  return (v < 0.f ? 0.2f * v : v) * kGain;
}

template <typename T, int V>
__global__ void fused_epilogue_kernel(EpilogueKernelArgs a) {
  const int groups = a.out_channels / V;
  const int row_items = static_cast<int>(a.width) * groups;
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
      const int x = item / groups;
      const int c = (item - x * groups) * V;
      const long long pixel = row * a.width + x;
      float v[V];
      if (c < C) {
        if (a.blur_taps != nullptr) {
#pragma unroll
          for (int i = 0; i < V; ++i) v[i] = 0.f;
#pragma unroll
          for (int ky = 0; ky < 4; ++ky) {
            const long long sy = y + ky - a.blur_pad;
            if (sy < 0 || sy >= a.conv_height) continue;
#pragma unroll
            for (int kx = 0; kx < 4; ++kx) {
              const long long sx = x + kx - a.blur_pad;
              if (sx < 0 || sx >= a.conv_width) continue;
              const float tap = a.blur_taps[ky * 4 + kx];
              float s[V];
              load<T, V>(conv + ((b * a.conv_height + sy) * a.conv_width + sx) * C + c, s);
#pragma unroll
              for (int i = 0; i < V; ++i) v[i] += tap * s[i];
            }
          }
        } else {
          load<T, V>(conv + pixel * C + c, v);
        }
        if (a.out_scale != nullptr) {
#pragma unroll
          for (int i = 0; i < V; ++i) v[i] *= a.out_scale[b * C + c + i];
        }
        if (features != nullptr && !a.concat) {
          float f[V];
          load<T, V>(features + pixel * C + c, f);
#pragma unroll
          for (int i = 0; i < V; ++i) v[i] += a.noise_weight * f[i];
        }
      } else {
        load<T, V>(features + pixel * C + (c - C), v);
#pragma unroll
        for (int i = 0; i < V; ++i) v[i] *= a.noise_weight;
      }
      if (a.activate) {
#pragma unroll
        for (int i = 0; i < V; ++i) v[i] = activate(v[i] + a.bias[c + i]);
      }
      const long long at = pixel * a.out_channels + c;
      if (out_plain != nullptr) store<T, V>(out_plain + at, v);
      if (a.next_scale != nullptr) {
#pragma unroll
        for (int i = 0; i < V; ++i) v[i] *= a.next_scale[b * a.out_channels + c + i];
      }
      store<T, V>(out + at, v);
    }
  }
}

bool aligned(const void* p, int bytes) {
  return reinterpret_cast<unsigned long long>(p) % static_cast<unsigned long long>(bytes) == 0;
}

template <typename T, int V>
const char* launch_with(const EpilogueKernelArgs& a) {
  constexpr int kThreads = 256;
  const long long row_items = a.width * (a.out_channels / V);
  const long long rows = a.batch * a.height;
  if (rows == 0 || row_items == 0) return "";
  const dim3 grid(static_cast<unsigned>(std::min<long long>((row_items + kThreads - 1) / kThreads, 1024)),
                  static_cast<unsigned>(std::min<long long>(rows, 65535)));
  fused_epilogue_kernel<T, V><<<grid, kThreads, 0, static_cast<cudaStream_t>(a.stream)>>>(a);
  const cudaError_t error = cudaGetLastError();
  return error == cudaSuccess ? "" : cudaGetErrorString(error);
}

// 16-byte packets when every channel count and buffer allows them.
template <typename T>
const char* launch(const EpilogueKernelArgs& a) {
  constexpr int kWide = 16 / sizeof(T);
  const bool wide = a.conv_channels % kWide == 0 && a.out_channels % kWide == 0 &&
                    aligned(a.conv, 16) && aligned(a.out, 16) &&
                    (a.features == nullptr || aligned(a.features, 16)) &&
                    (a.out_plain == nullptr || aligned(a.out_plain, 16));
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
