// Enhancing batches of faces with a loaded GPEN generator: the part of the
// element that knows nothing of GStreamer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "checkpoint/checkpoint.h"
#include "generator/gpen_generator.h"
#include "launched_batch.h"
#include "runtime/device.h"
#include "runtime/image_tensor.h"
#include "runtime/precision.h"

namespace gpen {

class CudaGraphRunner;

class FaceEnhancer {
 public:
  // Loads the checkpoint at `model_path` for the requested device and
  // precision. Throws Error (CheckpointError, ModelError) naming the file.
  FaceEnhancer(const std::string& model_path, const DeviceRequest& device, Precision precision);
  // The same on a device already resolved (resolve_device).
  FaceEnhancer(const std::string& model_path, torch::Device device, Precision precision);
  // From tensors already loaded (tests, benchmark).
  FaceEnhancer(const TensorMap& state, torch::Device device, Precision precision);
  ~FaceEnhancer();
  FaceEnhancer(const FaceEnhancer&) = delete;
  FaceEnhancer& operator=(const FaceEnhancer&) = delete;

  int model_size() const { return generator_.config().size; }
  torch::Device device() const { return generator_.device(); }
  const GpenGenerator& generator() const { return generator_; }

  // CUDA graphs for the network, on by default on CUDA: each batch size
  // (at most two) is captured once and replayed.
  void set_cuda_graphs(bool enabled);
  bool cuda_graphs() const { return graphs_enabled_; }
  // Drops the captured graphs (they are captured again when needed), so
  // that measuring many batch sizes keeps one size's graph memory at a time.
  void clear_cuda_graphs();

  // The network over a batch already in its range ([N, 3, S, S] float in
  // [-1, 1] on the model's device), through the CUDA graphs where they are
  // on; no out-of-memory split (batch_size_measurement.h times this).
  torch::Tensor forward(const torch::Tensor& inputs);

  // How often an out-of-memory error has split a batch in halves.
  int out_of_memory_splits() const { return out_of_memory_splits_; }

  // Enhances aligned faces in place: each one is resized to the model size
  // for the network and back, and blended with its original by `strength`
  // (0 keeps the original, 1 is the network's output). All faces go through
  // the network as one batch; a CUDA out-of-memory error splits the batch in
  // halves and retries, so no face is lost.
  void enhance_aligned(const std::vector<ImageView>& faces, float strength);

  // The same in two steps: reads the faces and starts the batch; its
  // finish() writes them (see LaunchedBatch). On CUDA, launching the next
  // batch before finishing this one keeps the device busy while the host
  // copies pixels in and out.
  LaunchedBatch launch_aligned(const std::vector<ImageView>& faces, float strength);
  // The same with a strength per face (streams sharing a batch).
  LaunchedBatch launch_aligned(const std::vector<ImageView>& faces,
                               const std::vector<float>& strengths);

  // Enhances aligned crops: float [N, 3, S, S] RGB in [0, 255] (S the model
  // size, any device) -> the network's faces, float [N, 3, S, S] in [0, 255]
  // on the model's device. Batched and split on out-of-memory as
  // enhance_aligned.
  torch::Tensor enhance_crops(const torch::Tensor& crops);

 private:
  torch::Tensor run_network(const torch::Tensor& inputs);

  GpenGenerator generator_;
  std::unique_ptr<CudaGraphRunner> graphs_;
  bool graphs_enabled_ = false;
  int out_of_memory_splits_ = 0;
};

}  // namespace gpen
