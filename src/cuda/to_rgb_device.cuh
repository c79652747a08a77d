// The to_rgb kernel's device code (to_rgb_kernel.cu launches it): each
// pixel's C channels dotted with its face's three weight rows, in fp32, plus
// bias and the upsampled skip. A group of L lanes (a power of two, at most a
// warp) shares a pixel: each lane reads V-element packets, then the group
// sums by shuffles. cuBLAS's batched product with N = 3 read the activations
// at about a quarter of the memory bandwidth.
//
// Kept apart from the launcher so that tests/test_kernel_emulation.cpp can
// run it on the CPU (tests/cuda_emulation.h runs each warp's lanes as
// threads that meet at every shuffle).
#pragma once

#include <algorithm>

#include "cuda/cuda_packets.cuh"
#include "cuda/to_rgb_kernel.h"

namespace gpen::cuda {
namespace to_rgb_detail {

// Grid y is the face (so its weights are loaded once per thread when each
// lane has one packet, kOnePacket), grid x strides over its pixels.
template <typename T, int V, bool kOnePacket>
__global__ void __launch_bounds__(256) to_rgb_kernel(ToRgbKernelArgs a, int lanes) {
  const int C = a.channels;
  const int groups = C / V;  // packets per pixel
  const int pixels_per_warp = 32 / lanes;
  const long long plane = a.height * a.width;
  const int lane = threadIdx.x % 32;
  const int sub = lane % lanes;
  const long long b = blockIdx.y;
  const T* x = static_cast<const T*>(a.x) + b * plane * C;
  const float* w = a.weight + b * 3 * C;
  const long long warps = (plane + pixels_per_warp - 1) / pixels_per_warp;
  const long long warp_stride = static_cast<long long>(gridDim.x) * blockDim.x / 32;

  float w0[V], w1[V], w2[V];
  if constexpr (kOnePacket) {
    load_floats<V>(w + sub * V, w0);
    load_floats<V>(w + C + sub * V, w1);
    load_floats<V>(w + 2 * C + sub * V, w2);
  }
  for (long long warp = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; warp < warps;
       warp += warp_stride) {
    const long long pixel = warp * pixels_per_warp + lane / lanes;
    const bool inside = pixel < plane;
    float sum[3] = {0.f, 0.f, 0.f};
    if (inside) {
      const T* px = x + pixel * C;
      for (int p = sub; p < groups; p += lanes) {
        const int c = p * V;
        float v[V];
        load<T, V>(px + c, v);
        if constexpr (!kOnePacket) {
          load_floats<V>(w + c, w0);
          load_floats<V>(w + C + c, w1);
          load_floats<V>(w + 2 * C + c, w2);
        }
#pragma unroll
        for (int i = 0; i < V; ++i) {
          sum[0] += v[i] * w0[i];
          sum[1] += v[i] * w1[i];
          sum[2] += v[i] * w2[i];
        }
      }
    }
    // Every lane takes part, inside or not: the group's sum.
    for (int offset = lanes / 2; offset > 0; offset /= 2) {
#pragma unroll
      for (int k = 0; k < 3; ++k) sum[k] += __shfl_xor_sync(0xffffffffu, sum[k], offset);
    }
    if (inside && sub == 0) {
#pragma unroll
      for (int k = 0; k < 3; ++k) {
        const long long o = (b * 3 + k) * plane + pixel;
        a.out[o] = sum[k] + a.bias[k] + (a.skip != nullptr ? a.skip[o] : 0.f);
      }
    }
  }
}

using Kernel = void (*)(ToRgbKernelArgs, int);

template <typename T, class Launch>
const char* dispatch_typed(const ToRgbKernelArgs& a, Launch&& launch) {
  constexpr int V = 16 / sizeof(T);
  constexpr int kThreads = 256;
  const int groups = a.channels / V;
  const int lanes = to_rgb_lanes(groups);
  const long long plane = a.height * a.width;
  if (plane == 0 || a.batch == 0) return "";
  if (a.batch > 65535) return "to_rgb kernel: batch too large";
  const long long warps = (plane + 32 / lanes - 1) / (32 / lanes);
  // About 8 pixel groups per warp: fewer, longer-lived threads reuse their weights.
  const dim3 grid(static_cast<unsigned>(std::min<long long>((warps * 32 / 8 + kThreads - 1) / kThreads, 65535)),
                  static_cast<unsigned>(a.batch));
  const Kernel kernel = groups == lanes ? to_rgb_kernel<T, V, true> : to_rgb_kernel<T, V, false>;
  return launch(kernel, grid, dim3(kThreads), lanes);
}

}  // namespace to_rgb_detail

// Chooses the kernel for `a` and its grid, and calls
// launch(kernel, grid, block, lanes) -> error text or "".
template <class Launch>
const char* dispatch_to_rgb(const ToRgbKernelArgs& a, Launch&& launch) {
  switch (a.type) {
    case ElementType::F16: return to_rgb_detail::dispatch_typed<__half>(a, launch);
    case ElementType::BF16: return to_rgb_detail::dispatch_typed<__nv_bfloat16>(a, launch);
    case ElementType::F32: break;
  }
  return to_rgb_detail::dispatch_typed<float>(a, launch);
}

}  // namespace gpen::cuda
