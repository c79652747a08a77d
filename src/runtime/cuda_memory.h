// Device memory figures for the automatic batch size. Without CUDA in the
// LibTorch this project was built against, every query answers "unknown".
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace gpen {

struct CudaMemoryInfo {
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
};

std::optional<CudaMemoryInfo> cuda_memory_info(int device_index);
// Peak bytes allocated by LibTorch on the device since the last reset.
std::optional<std::size_t> cuda_peak_allocated(int device_index);
// Bytes LibTorch's caching allocator holds from the driver now (CUDA graphs'
// private pools included, which stay reserved between replays).
std::optional<std::size_t> cuda_reserved(int device_index);
void cuda_reset_peak(int device_index);
// Returns cached blocks to the driver so that free memory reads true.
void cuda_release_cache();
// What tells one GPU and its software from another for a remembered
// measurement: "NVIDIA H200, 139 GiB, sm_90, driver 13000, runtime 13000";
// empty without CUDA.
std::string cuda_device_identity(int device_index);

}  // namespace gpen
