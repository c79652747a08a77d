// Enhancing batches of faces with a loaded GPEN generator: the part of the
// element that knows nothing of GStreamer.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "checkpoint.h"
#include "device.h"
#include "gpen_generator.h"
#include "image_tensor.h"
#include "precision.h"

namespace gpen {

class FaceEnhancer {
 public:
  // Loads the checkpoint at `model_path` for the requested device and
  // precision. Throws Error (CheckpointError, ModelError) naming the file.
  FaceEnhancer(const std::string& model_path, const DeviceRequest& device, Precision precision);
  // From tensors already loaded (tests, benchmark).
  FaceEnhancer(const TensorMap& state, torch::Device device, Precision precision);

  int model_size() const { return generator_.config().size; }
  torch::Device device() const { return generator_.device(); }
  const GpenGenerator& generator() const { return generator_; }

  // The automatic batch size: 1 on the CPU; on CUDA what free memory allows
  // by a measured per-face cost, capped at kMaxBatchSize.
  int automatic_batch_size();

  // Enhances aligned faces in place: each one is resized to the model size
  // for the network and back, and blended with its original by `strength`
  // (0 keeps the original, 1 is the network's output). All faces go through
  // the network as one batch; a CUDA out-of-memory error splits the batch in
  // halves and retries, so no face is lost.
  void enhance_aligned(const std::vector<ImageView>& faces, float strength);

  // Enhances aligned crops: float [N, 3, S, S] RGB in [0, 255] (S the model
  // size, any device) -> the network's faces, float [N, 3, S, S] in [0, 255]
  // on the model's device. Batched and split on out-of-memory as
  // enhance_aligned.
  torch::Tensor enhance_crops(const torch::Tensor& crops);

  // Wall time of the last enhance_aligned call, in seconds.
  double last_batch_seconds() const { return last_batch_seconds_; }

 private:
  torch::Tensor run_network(const torch::Tensor& inputs);

  GpenGenerator generator_;
  double last_batch_seconds_ = 0.0;
};

}  // namespace gpen
