// The CPU tensor cache (src/runtime/cpu_tensor_cache.h): what it serves, what it
// leaves to LibTorch, its limit, LibTorch's raw interface, and that the
// networks compute the same with it as without.
#include <gtest/gtest.h>

#include <thread>

#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>

#include "checkpoint/checkpoint.h"
#include "generator/gpen_generator.h"
#include "runtime/cpu_tensor_cache.h"

namespace {

using gpen::CpuTensorCacheScope;
using gpen::cpu_tensor_cache_stats;

constexpr std::int64_t kLargeFloats = 1 << 20;  // 4 MiB

// Restores the limit a test changed, and leaves no blocks to the next test.
class CpuTensorCache : public ::testing::Test {
 protected:
  void SetUp() override {
    limit_ = gpen::cpu_tensor_cache_limit();
    gpen::release_cpu_tensor_cache();
  }
  void TearDown() override {
    gpen::set_cpu_tensor_cache_limit(limit_);
    gpen::release_cpu_tensor_cache();
  }

 private:
  std::size_t limit_ = 0;
};

TEST_F(CpuTensorCache, AFreedLargeBlockServesTheNextOfItsSize) {
  const CpuTensorCacheScope scope;
  const auto before = cpu_tensor_cache_stats();
  const void* first = nullptr;
  {
    const auto t = torch::empty({kLargeFloats});
    first = t.data_ptr();
    EXPECT_EQ(cpu_tensor_cache_stats().used_bytes, before.used_bytes + 4 * kLargeFloats);
  }
  EXPECT_EQ(cpu_tensor_cache_stats().free_bytes, std::size_t{4} * kLargeFloats);
  const auto again = torch::ones({kLargeFloats});
  EXPECT_EQ(again.data_ptr(), first);
  EXPECT_EQ(again.sum().item<float>(), static_cast<float>(kLargeFloats));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(again.data_ptr()) % 64, 0u);
  const auto after = cpu_tensor_cache_stats();
  EXPECT_EQ(after.hits, before.hits + 1);
  EXPECT_EQ(after.misses, before.misses + 1);
  EXPECT_EQ(after.free_bytes, 0u);
  // A larger request is not served by a smaller block.
  const auto other = torch::empty({kLargeFloats + 16});
  EXPECT_EQ(cpu_tensor_cache_stats().misses, before.misses + 2);
}

TEST_F(CpuTensorCache, ABlockServesRequestsDownToFourFifthsOfItsSize) {
  const CpuTensorCacheScope scope;
  const void* block = nullptr;
  {
    const auto t = torch::empty({kLargeFloats});
    block = t.data_ptr();
  }
  {
    const auto small = torch::empty({kLargeFloats * 3 / 4});  // too small for it
    EXPECT_NE(small.data_ptr(), block);
  }
  const auto before = cpu_tensor_cache_stats();
  {
    const auto most = torch::empty({kLargeFloats * 5 / 6});
    EXPECT_EQ(most.data_ptr(), block);
    // The whole block is counted as in use, and comes back whole.
    EXPECT_EQ(cpu_tensor_cache_stats().used_bytes, before.used_bytes + 4 * kLargeFloats);
  }
  EXPECT_EQ(cpu_tensor_cache_stats().hits, before.hits + 1);
  const auto again = torch::empty({kLargeFloats});
  EXPECT_EQ(again.data_ptr(), block);
}

TEST_F(CpuTensorCache, SmallOrOutsideAScopeIsLibTorchsAllocation) {
  const auto before = cpu_tensor_cache_stats();
  { const auto large_outside = torch::empty({kLargeFloats}); }
  {
    const CpuTensorCacheScope scope;
    const auto small = torch::empty({1024});
  }
  {
    const CpuTensorCacheScope inactive(false);  // a GPU model's scope
    const auto large = torch::empty({kLargeFloats});
  }
  // Another thread has no scope of its own.
  {
    const CpuTensorCacheScope scope;
    std::thread([] { const auto t = torch::empty({kLargeFloats}); }).join();
  }
  const auto after = cpu_tensor_cache_stats();
  EXPECT_EQ(after.hits + after.misses, before.hits + before.misses);
  EXPECT_EQ(after.free_bytes, 0u);
}

TEST_F(CpuTensorCache, KeepsNoMoreThanItsLimit) {
  gpen::set_cpu_tensor_cache_limit(10u << 20);
  const auto before = cpu_tensor_cache_stats();
  {
    const CpuTensorCacheScope scope;
    std::vector<torch::Tensor> held;
    for (int i = 0; i < 4; ++i) held.push_back(torch::empty({kLargeFloats + 16 * i}));
  }  // 16 MiB freed: the two least recently freed blocks go back to the system
  auto stats = cpu_tensor_cache_stats();
  EXPECT_LE(stats.free_bytes, std::size_t{10} << 20);
  EXPECT_GT(stats.free_bytes, std::size_t{7} << 20);
  EXPECT_EQ(stats.evictions, before.evictions + 2);
  // A block larger than the limit is never kept.
  {
    const CpuTensorCacheScope scope;
    const auto huge = torch::empty({3 * kLargeFloats});
  }
  EXPECT_EQ(cpu_tensor_cache_stats().evictions, before.evictions + 3);
  // A lower limit evicts at once; release empties the cache.
  gpen::set_cpu_tensor_cache_limit(5u << 20);
  EXPECT_LE(cpu_tensor_cache_stats().free_bytes, std::size_t{5} << 20);
  gpen::release_cpu_tensor_cache();
  EXPECT_EQ(cpu_tensor_cache_stats().free_bytes, 0u);
  // Limit 0 is the cache turned off: every block goes back when freed.
  gpen::set_cpu_tensor_cache_limit(0);
  {
    const CpuTensorCacheScope scope;
    const auto t = torch::empty({kLargeFloats});
  }
  EXPECT_EQ(cpu_tensor_cache_stats().free_bytes, 0u);
}

// LibTorch's raw interface frees through raw_deleter(): both kinds of block.
TEST_F(CpuTensorCache, RawAllocationsOfBothKindsAreFreed) {
  c10::Allocator* allocator = c10::GetCPUAllocator();
  const auto before = cpu_tensor_cache_stats();
  {
    const CpuTensorCacheScope scope;
    allocator = c10::GetCPUAllocator();  // the cache's, installed by the first scope
    void* cached = allocator->raw_allocate(2u << 20);
    void* small = allocator->raw_allocate(64);
    EXPECT_EQ(cpu_tensor_cache_stats().used_bytes, before.used_bytes + (2u << 20));
    allocator->raw_deallocate(cached);
    allocator->raw_deallocate(small);
  }
  void* outside = allocator->raw_allocate(2u << 20);
  allocator->raw_deallocate(outside);
  const auto after = cpu_tensor_cache_stats();
  EXPECT_EQ(after.used_bytes, before.used_bytes);
  EXPECT_EQ(after.free_bytes, std::size_t{2} << 20);
}

// A tensor made in a scope may die anywhere, later, on another thread.
TEST_F(CpuTensorCache, BlocksComeBackFromOtherThreads) {
  torch::Tensor t;
  {
    const CpuTensorCacheScope scope;
    t = torch::full({kLargeFloats}, 2.0f);
  }
  std::thread([moved = std::move(t)]() mutable {
    EXPECT_EQ(moved.sum().item<float>(), 2.0f * kLargeFloats);
    moved = torch::Tensor();
  }).join();
  EXPECT_EQ(cpu_tensor_cache_stats().free_bytes, std::size_t{4} * kLargeFloats);
}

// The generator's forward runs in a scope: a second forward reuses the
// first one's buffers and gives the same bits, as does a forward without
// the cache.
TEST_F(CpuTensorCache, GeneratorComputesTheSameWithAndWithout) {
  const auto state = gpen::load_checkpoint(std::string(GPEN_TEST_DATA_DIR) + "/gpen-64/gpen-64.pth");
  const gpen::GpenGenerator generator(state, torch::kCPU, gpen::Precision::Fp32);
  torch::manual_seed(3);
  const auto faces = torch::rand({2, 3, 64, 64}) * 2 - 1;
  const auto first = generator.forward(faces);
  const auto before = cpu_tensor_cache_stats();
  const auto second = generator.forward(faces);
  EXPECT_GT(cpu_tensor_cache_stats().hits, before.hits);
  gpen::set_cpu_tensor_cache_limit(0);
  const auto without = generator.forward(faces);
  EXPECT_TRUE(torch::equal(first, second));
  EXPECT_TRUE(torch::equal(first, without));
}

}  // namespace
