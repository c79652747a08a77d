// Enough of CUDA, as host C++, to run kernels on the CPU: the qualifiers
// vanish, the thread and block indices are (thread-local) variables that the
// launches set, and the element types are LibTorch's fp16 and bf16 (the same
// rounding: to nearest, ties to even). Include it before the device code
// (cuda_packets.cuh then skips CUDA's headers).
//
// emulate_launch runs the threads one after the other: right for kernels
// whose threads share nothing (no shared memory, barriers or shuffles).
// emulate_launch_warps runs each warp's 32 lanes as coroutines of one thread
// (ucontext) that take turns at every __shfl_xor_sync, for kernels that sum
// across lanes: a round ends when every lane still running has reached its
// next shuffle, and a lane reads what its partner gave in the same round. A
// shuffle whose mask leaves out the lane or its partner, or whose partner is
// not at a shuffle of that round (lanes that a GPU would not have together),
// fails the launch. (Threads that met at each shuffle spent a minute of
// futex calls on what this does in seconds.)
#pragma once

#define GPEN_CUDA_EMULATION 1

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <vector>

#include <ucontext.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

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

// The 32 lanes of one warp as coroutines of the calling thread.
class Warp {
 public:
  static constexpr std::size_t kStackBytes = 256 * 1024;  // room for sanitizers' frames

  Warp() : stacks_(32 * kStackBytes) {}
  Warp(const Warp&) = delete;
  Warp& operator=(const Warp&) = delete;

  // Runs lane(0) .. lane(31) to their ends, turn by turn at their shuffles;
  // before each turn, enter(lane) (to set the thread's indices).
  void run(const std::function<void(unsigned)>& lane, const std::function<void(unsigned)>& enter) {
    body_ = &lane;
    for (unsigned l = 0; l < 32; ++l) {
      getcontext(&lanes_[l]);
      lanes_[l].uc_stack.ss_sp = stack(l);
      lanes_[l].uc_stack.ss_size = kStackBytes;
      lanes_[l].uc_link = &scheduler_;
      makecontext(&lanes_[l], &Warp::start, 0);
      done_[l] = false;
      given_round_[l] = -1;
    }
    for (round_ = 0;; ++round_) {
      bool any = false;
      for (unsigned l = 0; l < 32; ++l) {
        if (done_[l]) continue;
        any = true;
        current_ = this;
        lane_ = l;
        enter(l);
        switch_to_lane(l);
      }
      if (!any) break;
    }
  }

  // A lane's shuffle: gives `value`, waits for the round to end, returns
  // what lane ^ lane_mask gave.
  float exchange(unsigned lane, float value, unsigned lane_mask, unsigned members) {
    const unsigned partner = (lane ^ lane_mask) % 32;
    if ((members >> lane & 1u) == 0 || (members >> partner & 1u) == 0) misused_ = true;
    given_[round_ % 2][lane] = value;
    given_round_[lane] = round_;
    const long round = round_;
    switch_to_scheduler(lane, /*finished=*/false);
    if (given_round_[partner] != round && !(given_round_[partner] == round + 1 && partner < lane))
      misused_ = true;  // the partner was not at a shuffle of this round
    return given_[round % 2][partner];
  }

  // Whether a shuffle broke the rules above.
  bool misused() const { return misused_; }

  static inline thread_local Warp* current_ = nullptr;
  static inline thread_local unsigned lane_ = 0;

 private:
  char* stack(unsigned lane) { return stacks_.data() + lane * kStackBytes; }

  static void start() {
    Warp& warp = *current_;
    const unsigned lane = lane_;
    warp.entered_lane();
    (*warp.body_)(lane);
    warp.done_[lane] = true;
    warp.switch_to_scheduler(lane, /*finished=*/true);
  }

  // AddressSanitizer follows the switches of stack (its fiber annotations).
  void switch_to_lane(unsigned lane) {
#if defined(__SANITIZE_ADDRESS__)
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, stack(lane), kStackBytes);
    swapcontext(&scheduler_, &lanes_[lane]);
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
    swapcontext(&scheduler_, &lanes_[lane]);
#endif
  }

  void entered_lane() {
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_finish_switch_fiber(nullptr, &scheduler_stack_, &scheduler_stack_bytes_);
#endif
  }

  void switch_to_scheduler(unsigned lane, bool finished) {
#if defined(__SANITIZE_ADDRESS__)
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(finished ? nullptr : &fake, scheduler_stack_, scheduler_stack_bytes_);
    if (finished) return;  // uc_link resumes the scheduler
    swapcontext(&lanes_[lane], &scheduler_);
    __sanitizer_finish_switch_fiber(fake, &scheduler_stack_, &scheduler_stack_bytes_);
#else
    if (finished) return;
    swapcontext(&lanes_[lane], &scheduler_);
#endif
  }

  std::vector<char> stacks_;
  ucontext_t scheduler_{};
  ucontext_t lanes_[32]{};
  bool done_[32] = {};
  float given_[2][32] = {};  // by the round's parity: a lane may give again before its partner reads
  long given_round_[32] = {};
  long round_ = 0;
  bool misused_ = false;
  const std::function<void(unsigned)>* body_ = nullptr;
  const void* scheduler_stack_ = nullptr;
  std::size_t scheduler_stack_bytes_ = 0;
};

}  // namespace cuda_emulation

inline float __shfl_xor_sync(unsigned members, float value, int lane_mask) {
  return cuda_emulation::Warp::current_->exchange(cuda_emulation::Warp::lane_, value,
                                                  static_cast<unsigned>(lane_mask), members);
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
// blocks of whole warps), warp by warp, each warp's lanes taking turns at
// their shuffles.
template <typename... Params, typename... Args>
void emulate_launch_warps(void (*kernel)(Params...), dim3 grid, dim3 block, const Args&... args) {
  if (block.x % 32 != 0 || block.y != 1 || block.z != 1) throw std::invalid_argument("blocks of whole warps");
  gridDim = grid;
  blockDim = block;
  cuda_emulation::Warp warp;
  cuda_emulation::for_each_index(grid, [&](dim3 b) {
    blockIdx = b;
    for (unsigned w = 0; w < block.x / 32; ++w) {
      warp.run([&](unsigned) { kernel(args...); }, [&](unsigned lane) { threadIdx = dim3(w * 32 + lane); });
      if (warp.misused()) throw std::logic_error("a shuffle broke its mask or met a lane not at it");
    }
  });
}
