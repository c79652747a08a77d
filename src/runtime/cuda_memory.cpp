#include "runtime/cuda_memory.h"

#include <string>

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

std::string cuda_device_identity(int device_index) {
  cudaDeviceProp properties{};
  if (cudaGetDeviceProperties(&properties, device_index) != cudaSuccess) return {};
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  return std::string(properties.name) + ", " +
         std::to_string(properties.totalGlobalMem >> 30) + " GiB, sm_" +
         std::to_string(properties.major) + std::to_string(properties.minor) + ", driver " +
         std::to_string(driver) + ", runtime " + std::to_string(runtime);
}

#else

std::optional<CudaMemoryInfo> cuda_memory_info(int) { return std::nullopt; }
std::string cuda_device_identity(int) { return {}; }
std::optional<std::size_t> cuda_peak_allocated(int) { return std::nullopt; }
std::optional<std::size_t> cuda_reserved(int) { return std::nullopt; }
void cuda_reset_peak(int) {}
void cuda_release_cache() {}

#endif

}  // namespace gpen
