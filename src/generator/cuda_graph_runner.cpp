#include "generator/cuda_graph_runner.h"

#include <torch/torch.h>

#ifdef GPEN_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace gpen {

#ifdef GPEN_WITH_CUDA

struct CudaGraphRunner::Graph {
  at::cuda::CUDAGraph graph;
  torch::Tensor input, output;  // the buffers the graph reads and writes
};

// Capture on a side stream (the default stream cannot be captured), after a
// warm-up run there: cuDNN's algorithm search, lazy initialisation and the
// caching allocator's growth must all happen outside the capture.
std::unique_ptr<CudaGraphRunner::Graph> CudaGraphRunner::capture(const GpenGenerator& generator,
                                                                  const torch::Tensor& faces) {
  auto g = std::make_unique<CudaGraphRunner::Graph>();
  const c10::cuda::CUDAGuard device_guard(generator.device());
  g->input = faces.clone();
  c10::cuda::getCurrentCUDAStream().synchronize();
  auto side = c10::cuda::getStreamFromPool(false, generator.device().index());
  {
    const c10::cuda::CUDAStreamGuard stream_guard(side);
    generator.forward(g->input);
    side.synchronize();
    // The graph gets a memory pool of its own: return the warm-up's blocks.
    c10::cuda::CUDACachingAllocator::emptyCache();
    g->graph.capture_begin();
    try {
      g->output = generator.forward(g->input);
    } catch (...) {
      // Never leave the stream capturing (every later launch would fail).
      cudaGraph_t broken = nullptr;
      cudaStreamEndCapture(side.stream(), &broken);
      if (broken != nullptr) cudaGraphDestroy(broken);
      throw;
    }
    g->graph.capture_end();
  }
  side.synchronize();
  return g;
}

CudaGraphRunner::CudaGraphRunner(const GpenGenerator& generator, int max_graphs)
    : generator_(generator), max_graphs_(max_graphs) {}

CudaGraphRunner::~CudaGraphRunner() = default;

bool CudaGraphRunner::uses_graphs() const { return generator_.device().is_cuda(); }

void CudaGraphRunner::clear() { graphs_.clear(); }

torch::Tensor CudaGraphRunner::forward(const torch::Tensor& faces) {
  if (!uses_graphs()) return generator_.forward(faces);
  torch::InferenceMode inference;
  const auto batch = faces.size(0);
  auto found = graphs_.find(batch);
  if (found == graphs_.end()) {
    if (static_cast<int>(graphs_.size()) >= max_graphs_) return generator_.forward(faces);
    // Capturing records the kernels without running them: replay below.
    found = graphs_.emplace(batch, capture(generator_, faces.to(generator_.device()))).first;
  }
  Graph& g = *found->second;
  TORCH_CHECK(faces.sizes() == g.input.sizes(), "CudaGraphRunner: input ", faces.sizes(),
              " does not match the captured ", g.input.sizes());
  const c10::cuda::CUDAGuard device_guard(generator_.device());
  g.input.copy_(faces);
  g.graph.replay();
  return g.output.clone();
}

#else

struct CudaGraphRunner::Graph {};

CudaGraphRunner::CudaGraphRunner(const GpenGenerator& generator, int max_graphs)
    : generator_(generator), max_graphs_(max_graphs) {}
CudaGraphRunner::~CudaGraphRunner() = default;
bool CudaGraphRunner::uses_graphs() const { return false; }
void CudaGraphRunner::clear() { graphs_.clear(); }
torch::Tensor CudaGraphRunner::forward(const torch::Tensor& faces) {
  return generator_.forward(faces);
}

#endif

}  // namespace gpen
