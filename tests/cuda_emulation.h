// Enough of CUDA, as host C++, to run a kernel whose threads share nothing
// (no shared memory, no barriers, no warp shuffles) one thread after the
// other on the CPU: the qualifiers vanish, the thread and block indices are
// variables that emulate_launch sets, and the element types are LibTorch's
// fp16 and bf16 (the same rounding: to nearest, ties to even). Include it
// before the device code (cuda_packets.cuh then skips CUDA's headers).
#pragma once

#define GPEN_CUDA_EMULATION 1

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#define __global__
#define __device__
#define __host__
#define __launch_bounds__(...)

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

inline dim3 threadIdx{0}, blockIdx{0}, blockDim{1}, gridDim{1};

struct alignas(16) float4 {
  float x, y, z, w;
};

using __half = c10::Half;
using __nv_bfloat16 = c10::BFloat16;

inline float __half2float(__half v) { return static_cast<float>(v); }
inline __half __float2half_rn(float v) { return __half(v); }
inline float __bfloat162float(__nv_bfloat16 v) { return static_cast<float>(v); }
inline __nv_bfloat16 __float2bfloat16_rn(float v) { return __nv_bfloat16(v); }

// Runs kernel(args...) for every thread of grid x block, in order.
template <typename... Args>
void emulate_launch(void (*kernel)(Args...), dim3 grid, dim3 block, const Args&... args) {
  gridDim = grid;
  blockDim = block;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx)
        for (unsigned tz = 0; tz < block.z; ++tz)
          for (unsigned ty = 0; ty < block.y; ++ty)
            for (unsigned tx = 0; tx < block.x; ++tx) {
              blockIdx = dim3(bx, by, bz);
              threadIdx = dim3(tx, ty, tz);
              kernel(args...);
            }
}
