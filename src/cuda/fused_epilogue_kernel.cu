// Launches the fused epilogue (fused_epilogue_device.cuh) on a stream.
#include "cuda/fused_epilogue_kernel.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cuda/fused_epilogue_device.cuh"

namespace gpen::cuda {

const EpilogueBlocking& epilogue_blocking() {
  static const EpilogueBlocking blocking = [] {
    EpilogueBlocking b;
    if (const char* text = std::getenv("GPEN_EPILOGUE_ROWS"))
      std::sscanf(text, "%d,%d", &b.blur.rows, &b.plain.rows);
    if (const char* text = std::getenv("GPEN_EPILOGUE_COLUMNS"))
      std::sscanf(text, "%d,%d", &b.blur.columns, &b.plain.columns);
    return b;
  }();
  return blocking;
}

bool fold_to_rgb() {
  static const bool fold = [] {
    const char* text = std::getenv("GPEN_FUSED_TO_RGB");
    return text == nullptr || std::strcmp(text, "0") != 0;
  }();
  return fold;
}

const char* launch_fused_epilogue(const EpilogueKernelArgs& args, const EpilogueBlocking& blocking) {
  const auto stream = static_cast<cudaStream_t>(args.stream);
  return dispatch_fused_epilogue(args, blocking, [&](auto kernel, dim3 grid, dim3 block) -> const char* {
    kernel<<<grid, block, 0, stream>>>(args);
    const cudaError_t error = cudaGetLastError();
    return error == cudaSuccess ? "" : cudaGetErrorString(error);
  });
}

}  // namespace gpen::cuda
