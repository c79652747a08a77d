// Enough of CUDA, as host C++, to run kernels on the CPU: the qualifiers
// vanish, the thread and block indices are (thread-local) variables that the
// launches set, and the element types are LibTorch's fp16 and bf16 (the same
// rounding: to nearest, ties to even). Include it before the device code
// (cuda_packets.cuh then skips CUDA's headers).
//
// emulate_launch runs the threads one after the other: right for kernels
// whose threads share nothing (no shared memory, barriers or shuffles).
// emulate_launch_warps runs each warp's 32 lanes as threads that meet at
// every __shfl_xor_sync, for kernels that sum across a warp; every lane of
// a warp must reach each shuffle, as the full mask says on a GPU.
#pragma once

#define GPEN_CUDA_EMULATION 1

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

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

inline thread_local dim3 threadIdx{0}, blockIdx{0}, blockDim{1}, gridDim{1};

struct alignas(16) float4 {
  float x, y, z, w;
};

using __half = c10::Half;
using __nv_bfloat16 = c10::BFloat16;

inline float __half2float(__half v) { return static_cast<float>(v); }
inline __half __float2half_rn(float v) { return __half(v); }
inline float __bfloat162float(__nv_bfloat16 v) { return static_cast<float>(v); }
inline __nv_bfloat16 __float2bfloat16_rn(float v) { return __nv_bfloat16(v); }

namespace cuda_emulation {

// The lanes of one warp, and where they meet.
class Warp {
 public:
  // Every lane's value in, then lane ^ lane_mask's out.
  float exchange(unsigned lane, float value, unsigned lane_mask) {
    slots_[lane] = value;
    meet();
    const float other = slots_[(lane ^ lane_mask) % 32];
    meet();  // nobody writes the next round before everyone has read this one
    return other;
  }

 private:
  void meet() {
    std::unique_lock<std::mutex> lock(mutex_);
    const unsigned long round = round_;
    if (++waiting_ == 32) {
      waiting_ = 0;
      ++round_;
      arrived_.notify_all();
    } else {
      arrived_.wait(lock, [&] { return round_ != round; });
    }
  }

  float slots_[32] = {};
  std::mutex mutex_;
  std::condition_variable arrived_;
  int waiting_ = 0;
  unsigned long round_ = 0;
};

inline thread_local Warp* current_warp = nullptr;

}  // namespace cuda_emulation

inline float __shfl_xor_sync(unsigned /*mask: all lanes*/, float value, int lane_mask) {
  return cuda_emulation::current_warp->exchange(threadIdx.x % 32, value, static_cast<unsigned>(lane_mask));
}

namespace cuda_emulation {

// Calls visit(index) for every index of `extent`, x fastest, as CUDA numbers
// blocks and threads.
template <typename Visit>
void for_each_index(dim3 extent, Visit&& visit) {
  for (unsigned z = 0; z < extent.z; ++z)
    for (unsigned y = 0; y < extent.y; ++y)
      for (unsigned x = 0; x < extent.x; ++x) visit(dim3(x, y, z));
}

}  // namespace cuda_emulation

// Runs kernel(args...) for every thread of grid x block, one after the other.
template <typename... Params, typename... Args>
void emulate_launch(void (*kernel)(Params...), dim3 grid, dim3 block, const Args&... args) {
  gridDim = grid;
  blockDim = block;
  cuda_emulation::for_each_index(grid, [&](dim3 b) {
    blockIdx = b;
    cuda_emulation::for_each_index(block, [&](dim3 t) {
      threadIdx = t;
      kernel(args...);
    });
  });
}

// Runs kernel(args...) for every thread of grid x block (one-dimensional
// blocks of whole warps): 32 threads, one a lane, go through the warps in
// order, each warp's lanes meeting at its own shuffles.
template <typename... Params, typename... Args>
void emulate_launch_warps(void (*kernel)(Params...), dim3 grid, dim3 block, const Args&... args) {
  if (block.x % 32 != 0 || block.y != 1 || block.z != 1) throw std::invalid_argument("blocks of whole warps");
  const unsigned warps_per_block = block.x / 32;
  std::vector<cuda_emulation::Warp> warps(static_cast<std::size_t>(grid.x) * grid.y * grid.z * warps_per_block);
  std::vector<std::thread> lanes;
  for (unsigned lane = 0; lane < 32; ++lane)
    lanes.emplace_back([&, lane] {
      gridDim = grid;
      blockDim = block;
      std::size_t next = 0;
      cuda_emulation::for_each_index(grid, [&](dim3 b) {
        blockIdx = b;
        for (unsigned w = 0; w < warps_per_block; ++w) {
          threadIdx = dim3(w * 32 + lane);
          cuda_emulation::current_warp = &warps[next++];
          kernel(args...);
        }
      });
    });
  for (auto& lane : lanes) lane.join();
}
