#include "batch_size_measurement.h"

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "batch_size_cache.h"
#include "face_enhancer.h"
#include "runtime/cuda_memory.h"

namespace gpen {
namespace {

// Peak memory of a batch of one and of four: a third of the difference is
// what one more face costs, whatever the fixed working set is. Each is
// measured on a second run: cuDNN's algorithm search in the first tries
// workspaces far larger than what it keeps.
BatchMemoryEstimate estimate_memory(const FaceEnhancer& enhancer, int index,
                                    const std::function<torch::Tensor(int)>& faces) {
  auto peak_for = [&](int batch) -> std::size_t {
    const auto input = faces(batch);
    enhancer.generator().forward(input);
    cuda_release_cache();
    cuda_reset_peak(index);
    enhancer.generator().forward(input);
    return cuda_peak_allocated(index).value_or(0);
  };
  const std::size_t one = peak_for(1), four = peak_for(4);
  cuda_release_cache();
  const auto info = cuda_memory_info(index);
  BatchMemoryEstimate memory;
  memory.free_bytes = info ? info->free_bytes : 0;
  // Algorithms (and their workspaces) differ between batch sizes: where that
  // hides the faces' own cost, count the whole single-face peak per face.
  memory.per_face_bytes = four > one ? (four - one) / 3 : one;
  return memory;
}

BatchChoice measure(FaceEnhancer& enhancer) {
  torch::InferenceMode inference;
  const torch::Device device = enhancer.device();
  const int index = device.index() < 0 ? 0 : device.index();
  const int size = enhancer.model_size();
  // Timing on zeros can flatter a kernel: measure on random faces.
  const auto faces = [&](int batch) {
    return torch::rand({batch, 3, size, size}, torch::TensorOptions().device(device)) * 2 - 1;
  };
  BatchChoice choice;
  choice.memory = estimate_memory(enhancer, index, faces);
  choice.fits = choose_batch_size(true, choice.memory);

  // The throughput curve over 1, 2, 4, ...: each size once to warm up (cuDNN
  // picks its algorithms, a graph is captured), then timed for at least
  // three runs and 50 ms. Stop once a size falls clearly below the best.
  for (const int batch : batch_ladder(choice.fits)) {
    try {
      const auto input = faces(batch);
      enhancer.forward(input);
      torch::cuda::synchronize(index);
      int runs = 0;
      const auto start = std::chrono::steady_clock::now();
      double seconds = 0;
      while (runs < 3 || seconds < 0.05) {
        enhancer.forward(input);
        torch::cuda::synchronize(index);
        ++runs;
        seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
      choice.samples.push_back({batch, batch * runs / seconds});
    } catch (const c10::OutOfMemoryError&) {
      break;  // the estimate was optimistic: what ran is the curve
    }
    enhancer.clear_cuda_graphs();  // one size's graph memory at a time
    if (past_the_knee(choice.samples)) break;
  }
  cuda_release_cache();
  choice.batch = throughput_knee(choice.samples);
  return choice;
}

}  // namespace

std::string batch_size_key(const FaceEnhancer& enhancer) {
  const torch::Device device = enhancer.device();
  const int index = device.index() < 0 ? 0 : device.index();
  return cuda_device_identity(index) + " | " + enhancer.generator().config().describe() + " | " +
         precision_name(enhancer.generator().precision()) +
         (enhancer.cuda_graphs() ? " | graphs" : "") + " | LibTorch " + TORCH_VERSION;
}

BatchChoice automatic_batch_size(FaceEnhancer& enhancer, const BatchSizeCache& cache) {
  const torch::Device device = enhancer.device();
  if (!device.is_cuda()) {
    BatchChoice choice;
    choice.batch = choose_batch_size(false, {});
    return choice;
  }
  // Within a process, and across processes through the cache file.
  static std::mutex memory_mutex;
  static std::map<std::string, BatchChoice> memory;
  const std::string key = batch_size_key(enhancer);
  const std::lock_guard<std::mutex> lock(memory_mutex);
  if (const auto found = memory.find(key); found != memory.end()) return found->second;
  if (auto remembered = cache.find(key)) {
    remembered->remembered = true;
    return memory[key] = *remembered;
  }
  BatchChoice measured = measure(enhancer);
  cache.store(key, measured);
  return memory[key] = measured;
}

BatchChoice automatic_batch_size(FaceEnhancer& enhancer) {
  return automatic_batch_size(enhancer, BatchSizeCache(BatchSizeCache::default_path()));
}

}  // namespace gpen
