// Device helpers shared by the CUDA kernels (src/cuda/*.cu): fp32 conversions of
// the element types, V elements moved as one aligned access, and fp32 loads.
#pragma once

#ifndef GPEN_CUDA_EMULATION  // tests/cuda_emulation.h provides them on the CPU
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace gpen::cuda {

__device__ inline float to_float(float v) { return v; }
__device__ inline float to_float(__half v) { return __half2float(v); }
__device__ inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ T from_float(float v);
template <>
__device__ inline float from_float<float>(float v) { return v; }
template <>
__device__ inline __half from_float<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ inline __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

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

// V consecutive fp32 values (per-channel scales, biases, weights): 16-byte
// loads when V is a multiple of 4 (callers check the alignment).
template <int V>
__device__ void load_floats(const float* p, float (&out)[V]) {
  if constexpr (V % 4 == 0) {
#pragma unroll
    for (int i = 0; i < V; i += 4) {
      const float4 q = *reinterpret_cast<const float4*>(p + i);
      out[i] = q.x, out[i + 1] = q.y, out[i + 2] = q.z, out[i + 3] = q.w;
    }
  } else {
#pragma unroll
    for (int i = 0; i < V; ++i) out[i] = p[i];
  }
}

}  // namespace gpen::cuda
