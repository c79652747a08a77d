// A cache of large CPU tensor buffers, for the networks' forward passes.
//
// LibTorch allocates CPU tensors with malloc, and glibc serves every block
// over 32 MiB (its largest mmap threshold) as fresh pages from the kernel and
// returns them on free: each large activation is paid for again in page
// faults, every layer of every forward. On GPEN-512 that was a quarter of a
// CPU forward. Inside a CpuTensorCacheScope, CPU allocations of at least
// kCachedBlockBytes come from blocks freed earlier of that size or up to a
// quarter larger; the rest, and every allocation outside a scope, go to
// LibTorch's allocator.
//
// The cache is process-wide (LibTorch has one CPU allocator), holds at most
// cpu_tensor_cache_limit() bytes of free blocks (least recently freed go
// first), and release_cpu_tensor_cache() gives them all back.
#pragma once

#include <cstddef>

namespace gpen {

inline constexpr std::size_t kCachedBlockBytes = std::size_t{1} << 20;

// While one is alive (and active), the current thread's large CPU
// allocations use the cache. Scopes nest.
class CpuTensorCacheScope {
 public:
  explicit CpuTensorCacheScope(bool active = true);
  ~CpuTensorCacheScope();
  CpuTensorCacheScope(const CpuTensorCacheScope&) = delete;
  CpuTensorCacheScope& operator=(const CpuTensorCacheScope&) = delete;

 private:
  bool active_;
};

struct CpuTensorCacheStats {
  std::size_t free_bytes = 0;   // held for reuse
  std::size_t used_bytes = 0;   // handed out and not yet freed
  std::size_t hits = 0;         // allocations served from the cache
  std::size_t misses = 0;       // allocations that needed new memory
  std::size_t evictions = 0;    // free blocks given back to stay under the limit
};

CpuTensorCacheStats cpu_tensor_cache_stats();

// The most free bytes the cache keeps: GPEN_CPU_CACHE_MIB when set, else a
// quarter of the physical memory.
std::size_t cpu_tensor_cache_limit();
void set_cpu_tensor_cache_limit(std::size_t bytes);

// Installs the caching allocator as LibTorch's CPU allocator now (the first
// scope does otherwise): before starting threads that allocate, since
// LibTorch publishes it through a plain pointer.
void install_cpu_tensor_cache();

// Frees every cached block (blocks in use are not touched).
void release_cpu_tensor_cache();

}  // namespace gpen
