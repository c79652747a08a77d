#include "face_enhancer.h"

#include <chrono>

#include <torch/cuda.h>
#include <torch/torch.h>

#include "generator/cuda_graph_runner.h"
#include "runtime/cpu_tensor_cache.h"
#include "runtime/cuda_memory.h"
#include "runtime/error.h"
#include "runtime/pixel_transfer.h"

namespace gpen {
namespace {

namespace F = torch::nn::functional;

torch::Tensor resize(const torch::Tensor& image, std::int64_t height, std::int64_t width) {
  if (image.size(2) == height && image.size(3) == width) return image;
  // Bilinear with half-pixel centres, as the reference's cv2.resize(INTER_LINEAR).
  return F::interpolate(image, F::InterpolateFuncOptions()
                                   .size(std::vector<std::int64_t>{height, width})
                                   .mode(torch::kBilinear)
                                   .align_corners(false));
}

GpenGenerator load_generator(const std::string& path, torch::Device device,
                             Precision precision) {
  const TensorMap state = load_checkpoint(path);
  try {
    return GpenGenerator(state, device, effective_precision(precision, device));
  } catch (const ModelError& e) {
    throw ModelError(path + ": " + e.what());
  }
}

}  // namespace

FaceEnhancer::FaceEnhancer(const std::string& model_path, torch::Device device,
                           Precision precision)
    : generator_(load_generator(model_path, device, precision)) {
  set_cuda_graphs(true);
}

FaceEnhancer::FaceEnhancer(const std::string& model_path, const DeviceRequest& device,
                           Precision precision)
    : FaceEnhancer(model_path, resolve_device(device), precision) {}

FaceEnhancer::FaceEnhancer(const TensorMap& state, torch::Device device, Precision precision)
    : generator_(state, device, effective_precision(precision, device)) {
  set_cuda_graphs(true);
}

// What the cache holds was this model's working set: give it back.
FaceEnhancer::~FaceEnhancer() { release_cpu_tensor_cache(); }

void FaceEnhancer::clear_cuda_graphs() {
  if (graphs_) graphs_->clear();
}

void FaceEnhancer::set_cuda_graphs(bool enabled) {
  graphs_.reset();
  graphs_enabled_ = enabled && generator_.device().is_cuda();
  if (graphs_enabled_) graphs_ = std::make_unique<CudaGraphRunner>(generator_);
}

torch::Tensor FaceEnhancer::forward(const torch::Tensor& inputs) {
  if (!graphs_enabled_) return generator_.forward(inputs);
  try {
    return graphs_->forward(inputs);
  } catch (const c10::OutOfMemoryError&) {
    // A capture needs memory of its own: where that is short, run eagerly.
    set_cuda_graphs(false);
    throw;
  }
}

torch::Tensor FaceEnhancer::run_network(const torch::Tensor& inputs) {
  // On the CPU a face at a time costs no throughput (a batch is slower per
  // face there: its activations fall out of cache) and makes every face's
  // result independent of which faces shared its batch.
  if (!generator_.device().is_cuda() && inputs.size(0) > 1) {
    std::vector<torch::Tensor> outputs;
    for (std::int64_t i = 0; i < inputs.size(0); ++i)
      outputs.push_back(generator_.forward(inputs.slice(0, i, i + 1)));
    return torch::cat(outputs, 0);
  }
  try {
    return forward(inputs);
  } catch (const c10::OutOfMemoryError&) {
    if (inputs.size(0) <= 1) throw;
    ++out_of_memory_splits_;
    cuda_release_cache();
    const auto half = inputs.size(0) / 2;
    auto first = run_network(inputs.slice(0, 0, half));
    auto second = run_network(inputs.slice(0, half));
    return torch::cat({first, second}, 0);
  }
}

torch::Tensor FaceEnhancer::enhance_crops(const torch::Tensor& crops) {
  const int size = model_size();
  TORCH_CHECK(crops.dim() == 4 && crops.size(1) == 3 && crops.size(2) == size &&
                  crops.size(3) == size,
              "enhance_crops: expected [N, 3, ", size, ", ", size, "] crops, got ", crops.sizes());
  torch::InferenceMode inference;
  if (crops.size(0) == 0) return crops.to(generator_.device(), torch::kFloat);
  return to_pixel_range(run_network(to_network_range(crops.to(generator_.device()))));
}

void FaceEnhancer::enhance_aligned(const std::vector<ImageView>& faces, float strength) {
  launch_aligned(faces, strength).finish();
}

// On CUDA each image's bytes move once through pinned memory and are
// unpacked, resized, blended and packed on the device; nothing here waits
// for the device (the downloads are queued: LaunchedBatch::finish waits).
LaunchedBatch FaceEnhancer::launch_aligned(const std::vector<ImageView>& faces, float strength) {
  return launch_aligned(faces, std::vector<float>(faces.size(), strength));
}

LaunchedBatch FaceEnhancer::launch_aligned(const std::vector<ImageView>& faces,
                                           const std::vector<float>& strengths) {
  TORCH_CHECK(strengths.size() == faces.size(), "launch_aligned: ", faces.size(), " faces, ",
              strengths.size(), " strengths");
  LaunchedBatch batch;
  if (faces.empty()) return batch;
  const auto start = std::chrono::steady_clock::now();
  torch::InferenceMode inference;
  const torch::Device device = generator_.device();
  const bool cuda = device.is_cuda();
  const CpuTensorCacheScope cache(!cuda);
  const int size = model_size();

  std::vector<DeviceImage> images;       // CUDA: the images' bytes on the device
  std::vector<torch::Tensor> originals;  // uint8 [1, 3, H, W] on the device
  std::vector<torch::Tensor> inputs;
  images.reserve(faces.size());
  originals.reserve(faces.size());
  inputs.reserve(faces.size());
  for (const auto& face : faces) {
    if (cuda) images.emplace_back(face, device);
    originals.push_back((cuda ? images.back().rgb() : read_rgb(face)).unsqueeze(0));
    inputs.push_back(resize(to_network_range(originals.back()), size, size));
  }
  const auto outputs = run_network(torch::cat(inputs, 0));

  for (std::size_t i = 0; i < faces.size(); ++i) {
    const auto& face = faces[i];
    const double strength = strengths[i], keep = 1.0 - strength;
    auto enhanced = to_pixel_range(resize(outputs.slice(0, i, i + 1), face.height, face.width));
    if (keep > 0.0)
      enhanced = enhanced * strength + originals[i].to(torch::kFloat) * keep;
    const auto pixels = quantize(enhanced)[0];
    if (cuda)
      batch.add(images[i], pixels);  // the image's bytes back whole
    else
      batch.add(pixels, face);
  }
  batch.add_launch_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return batch;
}

}  // namespace gpen
