// Runs a generator's forward pass as a replayed CUDA graph, one captured per
// batch size: a GPEN forward is a few hundred kernel launches, which a graph
// issues at once instead of one by one from the CPU. Elsewhere (CPU, a build
// without CUDA) it calls forward() directly.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include <torch/types.h>

#include "generator/gpen_generator.h"

namespace gpen {

class CudaGraphRunner {
 public:
  // At most `max_graphs` batch sizes keep a graph (each holds its own
  // activation memory); others run eagerly.
  explicit CudaGraphRunner(const GpenGenerator& generator, int max_graphs = 2);
  ~CudaGraphRunner();
  CudaGraphRunner(const CudaGraphRunner&) = delete;
  CudaGraphRunner& operator=(const CudaGraphRunner&) = delete;

  // As generator.forward(faces) (the default path), on CUDA through a graph.
  torch::Tensor forward(const torch::Tensor& faces);

  // Whether this build and device use graphs at all.
  bool uses_graphs() const;
  int graphs() const { return static_cast<int>(graphs_.size()); }
  // Drops every captured graph and its memory.
  void clear();

 private:
  struct Graph;
  static std::unique_ptr<Graph> capture(const GpenGenerator& generator, const torch::Tensor& faces);
  const GpenGenerator& generator_;
  int max_graphs_;
  std::map<std::int64_t, std::unique_ptr<Graph>> graphs_;
};

}  // namespace gpen
