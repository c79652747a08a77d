#include "face_enhancer.h"

#include <chrono>

#include <torch/torch.h>

#include "batch_policy.h"
#include "cuda_memory.h"
#include "error.h"

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

GpenGenerator load_generator(const std::string& path, const DeviceRequest& request,
                             Precision precision) {
  const torch::Device device = resolve_device(request);
  const TensorMap state = load_checkpoint(path);
  try {
    return GpenGenerator(state, device, effective_precision(precision, device));
  } catch (const ModelError& e) {
    throw ModelError(path + ": " + e.what());
  }
}

}  // namespace

FaceEnhancer::FaceEnhancer(const std::string& model_path, const DeviceRequest& device,
                           Precision precision)
    : generator_(load_generator(model_path, device, precision)) {}

FaceEnhancer::FaceEnhancer(const TensorMap& state, torch::Device device, Precision precision)
    : generator_(state, device, effective_precision(precision, device)) {}

int FaceEnhancer::automatic_batch_size() {
  const torch::Device device = generator_.device();
  if (!device.is_cuda()) return choose_batch_size(false, {});
  const int index = device.index() < 0 ? 0 : device.index();
  const int size = model_size();
  // Peak memory of a batch of one and of two: the difference is what one
  // more face costs, whatever the fixed working set is.
  auto peak_for = [&](int batch) -> std::size_t {
    cuda_release_cache();
    cuda_reset_peak(index);
    generator_.forward(torch::zeros({batch, 3, size, size}, torch::TensorOptions().device(device)));
    return cuda_peak_allocated(index).value_or(0);
  };
  const std::size_t one = peak_for(1), two = peak_for(2);
  cuda_release_cache();
  const auto info = cuda_memory_info(index);
  BatchMemoryEstimate estimate;
  estimate.free_bytes = info ? info->free_bytes : 0;
  estimate.per_face_bytes = two > one ? two - one : one;
  return choose_batch_size(true, estimate);
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
    return generator_.forward(inputs);
  } catch (const c10::OutOfMemoryError&) {
    if (inputs.size(0) <= 1) throw;
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
  if (faces.empty()) return;
  const auto start = std::chrono::steady_clock::now();
  torch::InferenceMode inference;
  const torch::Device device = generator_.device();
  const int size = model_size();

  std::vector<torch::Tensor> originals;  // uint8 [1, 3, H, W] on the device
  std::vector<torch::Tensor> inputs;
  originals.reserve(faces.size());
  inputs.reserve(faces.size());
  for (const auto& face : faces) {
    originals.push_back(read_rgb(face).unsqueeze(0).to(device));
    inputs.push_back(resize(to_network_range(originals.back()), size, size));
  }
  const auto outputs = run_network(torch::cat(inputs, 0));

  const double keep = 1.0 - static_cast<double>(strength);
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const auto& face = faces[i];
    auto enhanced = to_pixel_range(resize(outputs.slice(0, i, i + 1), face.height, face.width));
    if (keep > 0.0)
      enhanced = enhanced * static_cast<double>(strength) + originals[i].to(torch::kFloat) * keep;
    write_rgb(quantize(enhanced)[0], face);
  }
  last_batch_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace gpen
