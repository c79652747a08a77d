// Device helpers shared by the CUDA kernels (src/*.cu): fp32 conversions of
// the element types and V elements moved as one aligned access.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

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

}  // namespace gpen::cuda
