#include "runtime/cpu_tensor_cache.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

// Under AddressSanitizer a cached block is poisoned while it waits, so that a
// use after free still reports.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define GPEN_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define GPEN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define GPEN_POISON(p, n) ((void)(p), (void)(n))
#define GPEN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace gpen {
namespace {

constexpr std::size_t kAlignment = 64;  // what LibTorch's own allocator gives

// A free block serves requests down to 4/5 of its size: sizes that differ a
// little (a detector's levels, a batch's last frames) share blocks, which
// measured 255 MiB of extra resident memory for 1080p frames instead of 590
// with exact sizes, at the same speed.
constexpr std::size_t kSlackDivisor = 4;

thread_local int scope_depth = 0;

std::size_t default_limit() {
  if (const char* text = std::getenv("GPEN_CPU_CACHE_MIB"))
    return static_cast<std::size_t>(std::strtoull(text, nullptr, 10)) << 20;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return std::size_t{1} << 30;
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / 4;
}

void* new_block(std::size_t bytes) {
  return std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
}

void free_block(void* block, std::size_t bytes) {
  GPEN_UNPOISON(block, bytes);
  std::free(block);
}

// Free blocks by size (a network asks for the same sizes every forward),
// each stamped with when it was freed, for eviction.
class BlockCache {
 public:
  void* take(std::size_t bytes) {
    void* block = nullptr;
    std::size_t size = bytes;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      const auto it = free_.lower_bound(bytes);
      if (it != free_.end() && it->first <= bytes + bytes / kSlackDivisor) {
        block = it->second.block;
        size = it->first;
        free_.erase(it);
        stats_.free_bytes -= size;
        ++stats_.hits;
      } else {
        ++stats_.misses;
      }
    }
    if (block != nullptr) {
      GPEN_UNPOISON(block, size);
    } else {
      block = new_block(bytes);
      if (block == nullptr) {  // what is cached may be what is missing
        release();
        block = new_block(bytes);
      }
      TORCH_CHECK(block != nullptr, "CPU tensor cache: not enough memory for ", bytes, " bytes");
    }
    const std::lock_guard<std::mutex> lock(mutex_);
    used_.emplace(block, size);
    stats_.used_bytes += size;
    return block;
  }

  // False when `block` did not come from take().
  bool give_back(void* block) {
    std::vector<std::pair<void*, std::size_t>> evicted;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      const auto it = used_.find(block);
      if (it == used_.end()) return false;
      const std::size_t bytes = it->second;
      used_.erase(it);
      stats_.used_bytes -= bytes;
      if (bytes > limit_) {
        evicted.emplace_back(block, bytes);
        ++stats_.evictions;
      } else {
        GPEN_POISON(block, bytes);
        free_.emplace(bytes, Entry{block, ++clock_});
        stats_.free_bytes += bytes;
        evict_over(limit_, evicted);
      }
    }
    for (const auto& [victim, bytes] : evicted) free_block(victim, bytes);
    return true;
  }

  void release() {
    std::vector<std::pair<void*, std::size_t>> evicted;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& [bytes, entry] : free_) evicted.emplace_back(entry.block, bytes);
      free_.clear();
      stats_.free_bytes = 0;
    }
    for (const auto& [block, bytes] : evicted) free_block(block, bytes);
  }

  void set_limit(std::size_t bytes) {
    std::vector<std::pair<void*, std::size_t>> evicted;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      limit_ = bytes;
      evict_over(limit_, evicted);
    }
    for (const auto& [block, size] : evicted) free_block(block, size);
  }

  std::size_t limit() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return limit_;
  }

  CpuTensorCacheStats stats() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  struct Entry {
    void* block;
    std::uint64_t freed_at;
  };

  // Least recently freed first. Called with the mutex held; the caller frees
  // what it collects after unlocking.
  void evict_over(std::size_t limit, std::vector<std::pair<void*, std::size_t>>& evicted) {
    while (stats_.free_bytes > limit) {
      auto oldest = free_.begin();
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if (it->second.freed_at < oldest->second.freed_at) oldest = it;
      evicted.emplace_back(oldest->second.block, oldest->first);
      stats_.free_bytes -= oldest->first;
      ++stats_.evictions;
      free_.erase(oldest);
    }
  }

  mutable std::mutex mutex_;
  std::unordered_map<void*, std::size_t> used_;
  std::multimap<std::size_t, Entry> free_;
  std::uint64_t clock_ = 0;
  std::size_t limit_ = default_limit();
  CpuTensorCacheStats stats_;
};

BlockCache& cache() {
  static BlockCache* const instance = new BlockCache;  // never destroyed: tensors may outlive statics
  return *instance;
}

// LibTorch's CPU allocator, with large allocations inside a scope served by
// the cache. Blocks from the cache carry their own deleter; raw_deleter()
// tells the two kinds apart for LibTorch's raw interface.
class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(c10::Allocator* fallback) : fallback_(fallback) {}

  // LibTorch 1.13 declares allocate() const and 2.x does not: whichever the
  // headers have, one of the two overrides it.
  c10::DataPtr allocate(std::size_t bytes) const { return allocate_block(bytes); }
  c10::DataPtr allocate(std::size_t bytes) { return allocate_block(bytes); }
  // Pure virtual in LibTorch 2.x, absent from 1.13.
  void copy_data(void* dest, const void* src, std::size_t count) const {
    std::memcpy(dest, src, count);
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release_any; }

 private:
  c10::DataPtr allocate_block(std::size_t bytes) const {
    if (scope_depth == 0 || bytes < kCachedBlockBytes) return fallback_->allocate(bytes);
    void* block = cache().take(bytes);
    return {block, block, &release_cached, c10::Device(c10::DeviceType::CPU)};
  }

  static void release_cached(void* block) { cache().give_back(block); }

  static void release_any(void* block);

  c10::Allocator* const fallback_;
};

CachingCpuAllocator& installed_allocator() {
  static CachingCpuAllocator* const allocator = [] {
    auto* made = new CachingCpuAllocator(c10::GetCPUAllocator());  // never destroyed, as the cache
    c10::SetCPUAllocator(made);
    return made;
  }();
  return *allocator;
}

void CachingCpuAllocator::release_any(void* block) {
  if (cache().give_back(block)) return;
  const auto fallback_delete = installed_allocator().fallback_->raw_deleter();
  TORCH_CHECK(fallback_delete != nullptr, "CPU tensor cache: no raw deleter for a raw allocation");
  fallback_delete(block);
}

}  // namespace

CpuTensorCacheScope::CpuTensorCacheScope(bool active) : active_(active) {
  if (!active_) return;
  installed_allocator();
  ++scope_depth;
}

CpuTensorCacheScope::~CpuTensorCacheScope() {
  if (active_) --scope_depth;
}

CpuTensorCacheStats cpu_tensor_cache_stats() { return cache().stats(); }

std::size_t cpu_tensor_cache_limit() { return cache().limit(); }

void set_cpu_tensor_cache_limit(std::size_t bytes) { cache().set_limit(bytes); }

void install_cpu_tensor_cache() { installed_allocator(); }

void release_cpu_tensor_cache() { cache().release(); }

}  // namespace gpen
