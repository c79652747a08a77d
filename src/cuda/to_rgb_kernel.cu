// Launches the to_rgb kernel (to_rgb_device.cuh) on a stream.
#include "cuda/to_rgb_kernel.h"

#include <cuda_runtime.h>

#include "cuda/to_rgb_device.cuh"

namespace gpen::cuda {

const char* launch_to_rgb(const ToRgbKernelArgs& args) {
  const auto stream = static_cast<cudaStream_t>(args.stream);
  return dispatch_to_rgb(args, [&](auto kernel, dim3 grid, dim3 block, int lanes) -> const char* {
    kernel<<<grid, block, 0, stream>>>(args, lanes);
    const cudaError_t error = cudaGetLastError();
    return error == cudaSuccess ? "" : cudaGetErrorString(error);
  });
}

}  // namespace gpen::cuda
