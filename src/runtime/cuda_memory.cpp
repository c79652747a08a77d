#include "runtime/cuda_memory.h"

#ifdef GPEN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace gpen {

#ifdef GPEN_WITH_CUDA

std::optional<CudaMemoryInfo> cuda_memory_info(int device_index) {
  c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_index));
  std::size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) return std::nullopt;
  return CudaMemoryInfo{free_bytes, total_bytes};
}

std::optional<std::size_t> cuda_peak_allocated(int device_index) {
  const auto stats =
      c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device_index));
  return static_cast<std::size_t>(stats.allocated_bytes[0].peak);
}

std::optional<std::size_t> cuda_reserved(int device_index) {
  const auto stats =
      c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device_index));
  return static_cast<std::size_t>(stats.reserved_bytes[0].current);
}

void cuda_reset_peak(int device_index) {
  c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device_index));
}

void cuda_release_cache() { c10::cuda::CUDACachingAllocator::emptyCache(); }

#else

std::optional<CudaMemoryInfo> cuda_memory_info(int) { return std::nullopt; }
std::optional<std::size_t> cuda_peak_allocated(int) { return std::nullopt; }
std::optional<std::size_t> cuda_reserved(int) { return std::nullopt; }
void cuda_reset_peak(int) {}
void cuda_release_cache() {}

#endif

}  // namespace gpen
