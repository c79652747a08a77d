// gpen-benchmark: faces/s of the GPEN generator over batch sizes, for a
// checkpoint or for a released architecture with random weights.
//
//   gpen-benchmark --arch gpen-512 --device cpu --batches 1,2,4 --iterations 3
//   gpen-benchmark --model models/GPEN-BFR-512.pth --device cuda --precision fp16
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "checkpoint.h"
#include "cuda_memory.h"
#include "device.h"
#include "error.h"
#include "gpen_config.h"
#include "gpen_generator.h"
#include "precision.h"

namespace {

struct Options {
  std::string model;
  std::string arch = "gpen-512";
  std::string device = "auto";
  std::string precision = "auto";
  std::vector<int> batches = {1, 2, 4, 8};
  int iterations = 3;
  int threads = 0;
};

void usage() {
  std::cerr << "usage: gpen-benchmark [--model FILE | --arch gpen-256|gpen-512|gpen-1024|gpen-2048]\n"
               "                      [--device auto|cpu|cuda|cuda:N] [--precision auto|fp32|fp16|bf16]\n"
               "                      [--batches 1,2,4,8] [--iterations N] [--threads N]\n";
}

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const int v = std::atoi(item.c_str());
    if (v <= 0) throw gpen::Error("bad batch size '" + item + "'");
    values.push_back(v);
  }
  return values;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw gpen::Error("missing value after " + arg);
      return argv[++i];
    };
    if (arg == "--model") o.model = value();
    else if (arg == "--arch") o.arch = value();
    else if (arg == "--device") o.device = value();
    else if (arg == "--precision") o.precision = value();
    else if (arg == "--batches") o.batches = parse_list(value());
    else if (arg == "--iterations") o.iterations = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--threads") o.threads = std::atoi(value().c_str());
    else if (arg == "--help" || arg == "-h") { usage(); std::exit(0); }
    else throw gpen::Error("unknown option " + arg);
  }
  return o;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

void synchronize(const torch::Device& device) {
  // A device-to-host copy of one element waits for all queued work.
  if (device.is_cuda()) torch::zeros({1}, torch::TensorOptions().device(device)).cpu();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    if (o.threads > 0) torch::set_num_threads(o.threads);
    const torch::Device device = gpen::resolve_device(gpen::DeviceRequest::parse(o.device));
    const gpen::Precision precision =
        gpen::effective_precision(gpen::parse_precision(o.precision), device);
    const gpen::TensorMap state = o.model.empty()
        ? gpen::random_gpen_state_dict(gpen::gpen_architecture(o.arch), 0)
        : gpen::load_checkpoint(o.model);
    const gpen::GpenGenerator generator(state, device, precision);
    const int size = generator.config().size;
    const int device_index = device.index() < 0 ? 0 : device.index();

    std::printf("# %s\n# %s, device %s, precision %s, %d CPU thread(s), %d timed iteration(s)\n",
                o.model.empty() ? (o.arch + " (random weights)").c_str() : o.model.c_str(),
                generator.config().describe().c_str(), device.str().c_str(),
                gpen::precision_name(precision), torch::get_num_threads(), o.iterations);
    std::printf("| batch | ms/batch | ms/face | faces/s | peak memory (MiB) |\n");
    std::printf("|------:|---------:|--------:|--------:|------------------:|\n");
    for (const int batch : o.batches) {
      const auto input =
          (torch::rand({batch, 3, size, size}) * 2 - 1).to(device);
      gpen::cuda_reset_peak(device_index);
      generator.forward(input);  // warm-up: allocator, kernels, caches
      synchronize(device);
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < o.iterations; ++i) generator.forward(input);
      synchronize(device);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
          o.iterations;
      const double memory = device.is_cuda()
          ? gpen::cuda_peak_allocated(device_index).value_or(0) / 1048576.0
          : peak_rss_mib();
      std::printf("| %5d | %8.1f | %7.1f | %7.2f | %17.0f |\n", batch, seconds * 1000.0,
                  seconds * 1000.0 / batch, batch / seconds, memory);
      std::fflush(stdout);
    }
    std::printf("# memory: %s\n", device.is_cuda() ? "peak bytes allocated on the device per batch size"
                                                   : "peak resident set of the process so far");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpen-benchmark: %s\n", e.what());
    usage();
    return 1;
  }
}
