#include "face_enhancer.h"

#include <chrono>
#include <map>
#include <mutex>

#include <torch/cuda.h>
#include <torch/torch.h>

#include "batch_policy.h"
#include "cpu_tensor_cache.h"
#include "cuda_graph_runner.h"
#include "cuda_memory.h"
#include "error.h"
#include "pixel_transfer.h"

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
    : generator_(load_generator(model_path, device, precision)) {
  set_cuda_graphs(true);
}

FaceEnhancer::FaceEnhancer(const TensorMap& state, torch::Device device, Precision precision)
    : generator_(state, device, effective_precision(precision, device)) {
  set_cuda_graphs(true);
}

// What the cache holds was this model's working set: give it back.
FaceEnhancer::~FaceEnhancer() { release_cpu_tensor_cache(); }

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

int FaceEnhancer::automatic_batch_size() {
  const torch::Device device = generator_.device();
  if (!device.is_cuda()) {
    batch_choice_ = BatchChoice{};
    return batch_choice_.batch = choose_batch_size(false, {});
  }
  // Measured once per model, device, precision and graph use in a process.
  static std::mutex cache_mutex;
  static std::map<std::string, BatchChoice> cache;
  const std::string key = generator_.config().describe() + "|" + device.str() + "|" +
                          precision_name(generator_.precision()) + (graphs_enabled_ ? "|graphs" : "");
  const std::lock_guard<std::mutex> lock(cache_mutex);
  if (const auto found = cache.find(key); found != cache.end()) {
    batch_choice_ = found->second;
    return batch_choice_.batch;
  }

  torch::InferenceMode inference;
  const int index = device.index() < 0 ? 0 : device.index();
  const int size = model_size();
  // Timing on zeros can flatter a kernel: measure on random faces.
  const auto faces = [&](int batch) {
    return torch::rand({batch, 3, size, size}, torch::TensorOptions().device(device)) * 2 - 1;
  };
  // Peak memory of a batch of one and of four: a third of the difference is what one more face costs, whatever the fixed working set
  // is. Each is measured on a second run: cuDNN's algorithm search in the
  // first tries workspaces far larger than what it keeps.
  auto peak_for = [&](int batch) -> std::size_t {
    const auto input = faces(batch);
    generator_.forward(input);
    cuda_release_cache();
    cuda_reset_peak(index);
    generator_.forward(input);
    return cuda_peak_allocated(index).value_or(0);
  };
  const std::size_t one = peak_for(1), four = peak_for(4);
  cuda_release_cache();
  const auto info = cuda_memory_info(index);
  BatchChoice choice;
  choice.memory.free_bytes = info ? info->free_bytes : 0;
  // Algorithms (and their workspaces) differ between batch sizes: where that
  // hides the faces' own cost, count the whole single-face peak per face.
  choice.memory.per_face_bytes = four > one ? (four - one) / 3 : one;
  choice.fits = choose_batch_size(true, choice.memory);

  // The throughput curve over 1, 2, 4, ...: each size once to warm up (cuDNN
  // picks its algorithms, a graph is captured), then timed for at least
  // three runs and 50 ms. Stop once a size falls clearly below the best.
  for (const int batch : batch_ladder(choice.fits)) {
    try {
      const auto input = faces(batch);
      forward(input);
      torch::cuda::synchronize(index);
      int runs = 0;
      const auto start = std::chrono::steady_clock::now();
      double seconds = 0;
      while (runs < 3 || seconds < 0.05) {
        forward(input);
        torch::cuda::synchronize(index);
        ++runs;
        seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
      choice.samples.push_back({batch, batch * runs / seconds});
    } catch (const c10::OutOfMemoryError&) {
      break;  // the estimate was optimistic: what ran is the curve
    }
    if (graphs_) graphs_->clear();  // keep one size's graph memory at a time
    if (past_the_knee(choice.samples)) break;
  }
  cuda_release_cache();
  choice.batch = throughput_knee(choice.samples);
  batch_choice_ = cache[key] = choice;
  return choice.batch;
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
// for the device (the downloads are queued: AlignedBatch::finish waits).
AlignedBatch FaceEnhancer::launch_aligned(const std::vector<ImageView>& faces, float strength) {
  AlignedBatch batch;
  batch.faces_ = faces.size();
  if (faces.empty()) return batch;
  const auto start = AlignedBatch::Clock::now();
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

  const double keep = 1.0 - static_cast<double>(strength);
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const auto& face = faces[i];
    auto enhanced = to_pixel_range(resize(outputs.slice(0, i, i + 1), face.height, face.width));
    if (keep > 0.0)
      enhanced = enhanced * static_cast<double>(strength) + originals[i].to(torch::kFloat) * keep;
    const auto pixels = quantize(enhanced)[0];
    if (cuda)
      batch.downloads_.add(images[i], pixels);  // the image's bytes back whole
    else
      batch.downloads_.add(pixels, face);
  }
  batch.launch_seconds_ =
      std::chrono::duration<double>(AlignedBatch::Clock::now() - start).count();
  return batch;
}

}  // namespace gpen
