// gpen-benchmark: throughput of GPEN over batch sizes and precisions, with
// the fraction of the device's peak FLOP/s and, as a baseline measured in the
// same run, the reference implementation's way (batch 1, per-face grouped
// convolution, fp32).
//
//   gpen-benchmark --arch gpen-512 --device cuda                  # the network
//   gpen-benchmark --arch gpen-512 --device cuda --mode aligned   # + pixels in and out, 1 and 2 batches in flight
//   gpen-benchmark --arch gpen-512 --device cuda --mode frames    # 1080p, detect + restore + paste
//   gpen-benchmark --arch gpen-512 --device cpu --batches 1,2 --iterations 2
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <iostream>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#ifdef GPEN_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include "checkpoint/checkpoint.h"
#include "face_enhancer.h"
#include "faces/retinaface.h"
#include "frame_batcher.h"
#include "generator/cuda_graph_runner.h"
#include "generator/fused_epilogue.h"
#include "generator/gpen_config.h"
#include "generator/gpen_flops.h"
#include "generator/gpen_generator.h"
#include <glib.h>

#include "pipeline_mode.h"
#include "streams_mode.h"
#include "runtime/cuda_memory.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/pixel_transfer.h"
#include "runtime/precision.h"

namespace {

// A command line that does not parse: the message, then the usage.
class UsageError : public gpen::Error {
 public:
  using gpen::Error::Error;
};

struct Options {
  std::string model;
  std::string arch = "gpen-512";
  std::string device = "auto";
  std::vector<std::string> precisions;  // empty: fp32, fp16, bf16 on CUDA; fp32 on the CPU
  std::vector<int> batches;             // empty: 1..64 on CUDA; 1, 2 on the CPU
  int iterations = 0;                   // 0: 10 on CUDA, 3 on the CPU
  int warmup = 2;
  std::string path = "default";
  std::string graphs = "on";  // on, off, both (CUDA)
  bool baseline = true;
  bool tf32 = true;  // PyTorch's default for cuDNN convolutions
  std::string mode = "network";
  std::string detector_model;
  int frames = 64;
  std::vector<int> depths;  // aligned mode; empty: 1, 2 on CUDA; 1 on the CPU
  std::map<std::string, double> peak_tflops = {
      {"fp32", 67}, {"tf32", 494}, {"fp16", 989}, {"bf16", 989}};  // H100 SXM, dense
  bool peak_given = false;
  int threads = 0;
  std::string profile_dir;  // one Kineto trace per row of the network mode
  std::string input;        // frames mode: decode this image file for every frame;
                            // pipeline mode: a folder (or image) to restore
  int jobs = 0;             // pipeline mode: codec workers (0: gpen-enhance's default)
  int decode_threads = 0;   // 0: the machine's hardware threads
  StreamsBench streams;     // streams mode
  bool streams_given = false;
};

void usage() {
  std::cerr <<
      "usage: gpen-benchmark [--model FILE | --arch gpen-256|gpen-512|gpen-1024|gpen-2048]\n"
      "  [--device auto|cpu|cuda|cuda:N] [--precision fp32,fp16,bf16] [--batches 1,2,4,...]\n"
      "  [--iterations N] [--warmup N] [--path default|fast|exact] [--graphs on|off|both]\n"
      "  [--baseline on|off] [--tf32 on|off] [--threads N]\n"
      "  [--peak-tflops fp32=67,tf32=494,fp16=989,bf16=989]   (device peak, dense; H100 SXM by default)\n"
      "  [--mode network|aligned|frames|pipeline] [--frames N] [--detector-model RetinaFace.pth]\n"
      "  [--input DIR [--jobs N]]   (pipeline mode, with --model FILE: gpen-enhance's whole\n"
      "                     pipeline over the images in DIR, decode to written JPEG, one row per\n"
      "                     batch size (0 = automatic) and the table of where the time went;\n"
      "                     scripts/make-portraits.sh makes a set)\n"
      "  [--depth 1,2]     (aligned mode: batches in flight, as gpenenhance's pipeline-depth;\n"
      "                     default 1,2 on CUDA, 1 on the CPU)\n"
      "  [--input IMAGE [--decode-threads N]]   (frames mode: decode IMAGE for every frame, on\n"
      "                     N threads ahead of the GPU, instead of frames already in memory)\n"
      "  [--mode streams --model FILE --input IMAGE [--streams 1,4,8] [--shared off,on]\n"
      "   [--fps 25] [--batch-timeout-ms 40] [--face-mode aligned|full] [--size 128]]\n"
      "                    (N live streams through N gpenenhance elements, sharing one engine\n"
      "                     by model-instance-id or not: faces/s, faces per batch, per-stream\n"
      "                     latency p50/p99 and memory; --batches' first value is the batch size,\n"
      "                     --frames the frames per stream; each row in a process of its own)\n"
      "  [--profile DIR]   (network mode: one more run of each row under the profiler, a\n"
      "                     Chrome trace per row in DIR; scripts/gpu/trace_summary.py reads it)\n"
      "modes: network = the generator on device tensors; aligned = enhance_aligned on\n"
      "512x512 RGB frames in host memory (upload, resize, blend, download), one batch at\n"
      "a time or (depth 2) each launched before the previous one is finished; frames =\n"
      "1920x1080 frames with one face each: RetinaFace detection, alignment, the\n"
      "network and paste-back (FrameBatcher), frames in and out of interleaved RGB in\n"
      "host memory as gpenenhance moves them.\n";
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) items.push_back(item);
  return items;
}

std::vector<int> parse_batches(const std::string& text) {
  std::vector<int> values;
  for (const auto& item : split(text)) {
    const int v = std::atoi(item.c_str());
    // 0 (automatic) only where the element chooses: pipeline mode, checked below.
    if (v < 0 || (v == 0 && item != "0")) throw UsageError("bad batch size '" + item + "'");
    values.push_back(v);
  }
  return values;
}

bool parse_on_off(const std::string& text) {
  if (text == "on") return true;
  if (text == "off") return false;
  throw UsageError("expected on or off, got '" + text + "'");
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError("missing value after " + arg);
      return argv[++i];
    };
    if (arg == "--model") o.model = value();
    else if (arg == "--arch") o.arch = value();
    else if (arg == "--device") o.device = value();
    else if (arg == "--precision") o.precisions = split(value());
    else if (arg == "--batches") o.batches = parse_batches(value());
    else if (arg == "--jobs") o.jobs = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--iterations") o.iterations = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--warmup") o.warmup = std::max(0, std::atoi(value().c_str()));
    else if (arg == "--path") o.path = value();
    else if (arg == "--graphs") o.graphs = value();
    else if (arg == "--baseline") o.baseline = parse_on_off(value());
    else if (arg == "--tf32") o.tf32 = parse_on_off(value());
    else if (arg == "--mode") o.mode = value();
    else if (arg == "--frames") o.frames = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--depth") {
      for (const int depth : parse_batches(value())) {
        if (depth > 2) throw UsageError("--depth takes 1 or 2");
        o.depths.push_back(depth);
      }
    }
    else if (arg == "--detector-model") o.detector_model = value();
    else if (arg == "--threads") o.threads = std::atoi(value().c_str());
    else if (arg == "--profile") o.profile_dir = value();
    else if (arg == "--input") o.input = value();
    else if (arg == "--streams") {
      o.streams.streams.clear();
      for (const int n : parse_batches(value())) o.streams.streams.push_back(std::max(n, 1));
      o.streams_given = true;
    } else if (arg == "--shared") {
      o.streams.shared = split(value());
      for (const auto& v : o.streams.shared) parse_on_off(v);
      o.streams_given = true;
    } else if (arg == "--fps") o.streams.fps = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--batch-timeout-ms") o.streams.batch_timeout_ms = std::atof(value().c_str());
    else if (arg == "--face-mode") o.streams.face_mode = value();
    else if (arg == "--size") o.streams.size = std::max(8, std::atoi(value().c_str()));
    else if (arg == "--row-only") o.streams.row_only = true;
    else if (arg == "--decode-threads") o.decode_threads = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--peak-tflops") {
      for (const auto& item : split(value())) {
        const auto eq = item.find('=');
        if (eq == std::string::npos) throw UsageError("bad --peak-tflops item '" + item + "'");
        o.peak_tflops[item.substr(0, eq)] = std::atof(item.c_str() + eq + 1);
      }
      o.peak_given = true;
    } else if (arg == "--help" || arg == "-h") {
      usage();
      std::exit(0);
    } else {
      throw UsageError("unknown option " + arg);
    }
  }
  if (o.mode != "network" && o.mode != "aligned" && o.mode != "frames" && o.mode != "pipeline" &&
      o.mode != "streams")
    throw UsageError("unknown mode '" + o.mode + "'");
  if (!o.input.empty() && o.mode != "frames" && o.mode != "pipeline" && o.mode != "streams")
    throw UsageError("--input needs --mode frames, pipeline or streams");
  if (o.streams_given && o.mode != "streams")
    throw UsageError("--streams and --shared need --mode streams");
  if (o.mode == "streams" && (o.model.empty() || o.input.empty()))
    throw UsageError("--mode streams needs --model FILE and --input IMAGE");
  if (o.mode == "streams" && o.streams.face_mode != "aligned" && o.streams.face_mode != "full")
    throw UsageError("--face-mode takes aligned or full");
  if (o.mode != "pipeline" && std::find(o.batches.begin(), o.batches.end(), 0) != o.batches.end())
    throw UsageError("batch size 0 (automatic) needs --mode pipeline");
  if (o.mode == "pipeline" && (o.model.empty() || o.input.empty()))
    throw UsageError("--mode pipeline needs --model FILE and --input DIR");
  if (!o.depths.empty() && o.mode != "aligned") throw UsageError("--depth needs --mode aligned");
  if (o.graphs != "on" && o.graphs != "off" && o.graphs != "both")
    throw UsageError("--graphs takes on, off or both");
  if (!o.profile_dir.empty()) {
    if (o.mode != "network") throw UsageError("--profile needs --mode network");
    std::error_code error;
    std::filesystem::create_directories(o.profile_dir, error);
    if (error)
      throw gpen::Error("--profile: cannot make the folder " + o.profile_dir + ": " + error.message());
  }
  return o;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

std::string device_name(const torch::Device& device) {
#ifdef GPEN_WITH_CUDA
  if (device.is_cuda()) return at::cuda::getDeviceProperties(device.index())->name;
#endif
  return device.is_cuda() ? "CUDA device" : "CPU";
}

// Times `run` (which does `items` faces or frames): warm-up, then each
// iteration alone between device synchronisations; the median.
struct Timing {
  double seconds = 0;     // median per iteration
  double memory_mib = 0;  // peak device memory (CUDA) or peak RSS (CPU)
};

Timing time_it(const torch::Device& device, int warmup, int iterations,
               const std::function<void()>& run) {
  const int index = device.index() < 0 ? 0 : device.index();
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(index);
  };
  gpen::cuda_release_cache();
  for (int i = 0; i < warmup; ++i) run();
  sync();
  // After the warm-up: cuDNN's algorithm search tries huge workspaces.
  gpen::cuda_reset_peak(index);
  std::vector<double> times;
  for (int i = 0; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    sync();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  Timing t;
  t.seconds = times[times.size() / 2];
  // A graph's activations live in its own pool, reserved but no longer
  // "allocated" between replays: count whichever is larger.
  t.memory_mib = device.is_cuda()
      ? std::max(gpen::cuda_peak_allocated(index).value_or(0), gpen::cuda_reserved(index).value_or(0)) /
            1048576.0
      : peak_rss_mib();
  return t;
}

// The profilers report a file they could not write in a log line, not an
// error: the trace is checked instead of announced unseen.
void require_written(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error || size == 0) throw gpen::Error("--profile: could not write the trace " + path);
}

// Runs `run` once under the Kineto profiler (CPU ops and, on CUDA, kernels)
// and writes a Chrome trace to `path`. On the CPU without Kineto (Debian's
// LibTorch), the legacy profiler writes the operators' trace instead.
void profile_once(const std::string& path, const torch::Device& device,
                  const std::function<void()>& run) {
  namespace profiler = torch::autograd::profiler;
  using torch::profiler::impl::ActivityType;
  std::set<ActivityType> activities{ActivityType::CPU};
  if (device.is_cuda()) activities.insert(ActivityType::CUDA);
  const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO);
  try {
    profiler::prepareProfiler(config, activities);
    profiler::enableProfiler(config, activities);
    run();
    if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? 0 : device.index());
    profiler::disableProfiler()->save(path);
  } catch (const c10::Error& e) {
    // Debian's LibTorch is built without Kineto: it profiles, then cannot save.
    if (torch::profiler::impl::profilerEnabled()) profiler::disableProfiler();
    if (device.is_cuda()) throw gpen::Error("--profile: " + std::string(e.what_without_backtrace()));
    {
      torch::autograd::profiler::RecordProfile record(path);
      run();
    }
    require_written(path);
    std::printf("#   profile (legacy profiler: this LibTorch has no Kineto): %s\n", path.c_str());
    return;
  }
  require_written(path);
  std::printf("#   profile: %s\n", path.c_str());
}

std::string peak_key(gpen::Precision p, bool tf32) {
  if (p == gpen::Precision::Fp16) return "fp16";
  if (p == gpen::Precision::Bf16) return "bf16";
  return tf32 ? "tf32" : "fp32";
}

struct Row {
  std::string precision, path, graphs;
  int batch = 0;
  Timing timing;
  double per_second = 0;
};

class Report {
 public:
  Report(const Options& o, double flops_per_face, bool show_flops, bool show_percent)
      : o_(o), flops_(flops_per_face), show_flops_(show_flops), show_percent_(show_percent) {}

  void header(const char* unit) {
    unit_ = unit;
    std::printf("| precision | path | graphs | batch | ms/batch | %s/s | vs baseline | peak MiB |%s\n",
                unit, show_flops_ ? " TFLOP/s | % of peak |" : "");
    std::printf("|---|---|---|---:|---:|---:|---:|---:|%s\n", show_flops_ ? "---:|---:|" : "");
  }

  void row(const Row& r, const std::string& peak) {
    if (baseline_ == 0) baseline_ = r.per_second;
    // Three significant figures: a CPU does a face in seconds, a GPU hundreds a second.
    std::printf("| %s | %s | %s | %d | %.2f | %.3g | %.2fx | %.0f |", r.precision.c_str(),
                r.path.c_str(), r.graphs.c_str(), r.batch, r.timing.seconds * 1000.0,
                r.per_second, r.per_second / baseline_, r.timing.memory_mib);
    if (show_flops_) {
      const double tflops = r.per_second * flops_ / 1e12;
      const auto found = o_.peak_tflops.find(peak);
      if (show_percent_ && found != o_.peak_tflops.end() && found->second > 0)
        std::printf(" %.3g | %.1f%% |", tflops, 100.0 * tflops / found->second);
      else
        std::printf(" %.3g | - |", tflops);
    }
    std::printf("\n");
    std::fflush(stdout);
  }

 private:
  const Options& o_;
  double flops_;
  bool show_flops_;
  bool show_percent_;
  const char* unit_ = "faces";
  double baseline_ = 0;
};

// An image file as [H, W, 3] uint8 RGB in host memory: what a decoder and
// videoconvert upstream of the element hand it.
torch::Tensor decode_rgb(const std::string& path) {
  const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw gpen::Error("cannot decode " + path);
  auto rgb = torch::empty({bgr.rows, bgr.cols, 3}, torch::kUInt8);
  cv::Mat out(bgr.rows, bgr.cols, CV_8UC3, rgb.data_ptr<std::uint8_t>());
  cv::cvtColor(bgr, out, cv::COLOR_BGR2RGB);
  return rgb;
}

// A view of an [H, W, 3] RGB frame, as the element maps a buffer.
gpen::ImageView frame_view(const torch::Tensor& hwc) {
  gpen::ImageView view;
  view.data = hwc.data_ptr<std::uint8_t>();
  view.height = static_cast<int>(hwc.size(0));
  view.width = static_cast<int>(hwc.size(1));
  view.row_stride = hwc.size(1) * 3;
  return view;
}

// Decodes one file again for every frame on up to `threads` threads, ahead
// of the consumer and in order, as a pipeline's decoder threads run beside
// the element.
class DecodeAhead {
 public:
  DecodeAhead(std::string path, int threads, int frames)
      : path_(std::move(path)), threads_(threads), remaining_(frames) {
    fill();
  }

  torch::Tensor next() {
    auto frame = pending_.front().get();
    pending_.pop_front();
    fill();
    return frame;
  }

 private:
  void fill() {
    while (static_cast<int>(pending_.size()) < threads_ && remaining_ > 0) {
      pending_.push_back(std::async(std::launch::async, decode_rgb, path_));
      --remaining_;
    }
  }

  std::string path_;
  int threads_, remaining_;
  std::deque<std::future<torch::Tensor>> pending_;
};

// Random RetinaFace ResNet50 weights of a sensible scale (the network's cost
// does not depend on its weights; its detections are not used).
gpen::TensorMap random_retinaface_r50(std::uint64_t seed) {
  torch::manual_seed(seed);
  gpen::TensorMap state;
  for (const auto& [key, shape] : gpen::expected_retinaface_shapes(gpen::RetinaFaceBackbone::ResNet50)) {
    const auto ends_with = [&](const char* suffix) {
      const std::string s = suffix;
      return key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0;
    };
    torch::Tensor t;
    if (ends_with("running_var")) t = torch::ones(shape);
    else if (ends_with("running_mean") || ends_with("bias")) t = torch::zeros(shape);
    else if (shape.size() == 4) {
      const double fan_in = static_cast<double>(shape[1] * shape[2] * shape[3]);
      t = torch::randn(shape) / std::sqrt(fan_in);
    } else {
      t = torch::ones(shape);
    }
    // Scores near zero: random heads would otherwise "find" hundreds of faces
    // per frame and time the NMS of those instead of a real frame's few.
    if (key.rfind("ClassHead", 0) == 0)
      t = ends_with("bias") ? torch::tensor({10.0f, -10.0f}).repeat({shape[0] / 2})
                            : torch::zeros(shape);
    state[key] = t;
  }
  return state;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse(argc, argv);
    if (o.mode == "streams") {
      StreamsBench bench = o.streams;
      bench.model = o.model;
      bench.input = o.input;
      bench.device = o.device == "auto" ? "cpu" : o.device;
      if (!o.batches.empty()) bench.batch_size = std::max(o.batches.front(), 1);
      bench.frames = o.frames;
      bench.self = std::filesystem::read_symlink("/proc/self/exe").string();
      // The plugin of this build tree, unless GST_PLUGIN_PATH already names one.
      const char* path = g_getenv("GST_PLUGIN_PATH");
      const std::string plugins = std::string(GPEN_BENCH_PLUGIN_DIR) +
                                  (path && *path ? G_SEARCHPATH_SEPARATOR_S + std::string(path) : "");
      g_setenv("GST_PLUGIN_PATH", plugins.c_str(), TRUE);
      return run_streams_mode(bench);
    }
    if (o.mode == "pipeline") {
      PipelineBench bench;
      bench.model = o.model;
      bench.detector_model = o.detector_model;
      bench.device = o.device;
      bench.precision = o.precisions.empty() ? "auto" : o.precisions.front();
      bench.inputs = {o.input};
      bench.batches = o.batches;
      bench.jobs = o.jobs;
      return run_pipeline_mode(bench);
    }
    if (o.threads > 0) torch::set_num_threads(o.threads);
    const torch::Device device = gpen::resolve_device(gpen::DeviceRequest::parse(o.device));
    const bool cuda = device.is_cuda();
    if (o.precisions.empty())
      o.precisions = cuda ? std::vector<std::string>{"fp32", "fp16", "bf16"}
                          : std::vector<std::string>{"fp32"};
    if (o.batches.empty())
      o.batches = cuda ? std::vector<int>{1, 2, 4, 8, 16, 32, 64} : std::vector<int>{1, 2};
    if (o.iterations == 0) o.iterations = cuda ? 10 : 3;
    if (o.depths.empty()) o.depths = cuda ? std::vector<int>{1, 2} : std::vector<int>{1};
    at::globalContext().setAllowTF32CuDNN(o.tf32);
    const bool graph_modes[2] = {true, false};

    const gpen::TensorMap state = o.model.empty()
        ? gpen::random_gpen_state_dict(gpen::gpen_architecture(o.arch), 0)
        : gpen::load_checkpoint(o.model);
    const auto config = gpen::infer_gpen_config(state);
    const auto flops = gpen::count_gpen_flops(config);
    const int size = config.size;

    std::printf("# %s: %s\n", o.model.empty() ? (o.arch + ", random weights").c_str() : o.model.c_str(),
                config.describe().c_str());
    std::printf("# device %s (%s), %d CPU thread(s), median of %d timed iteration(s) after %d warm-up(s)\n",
                device.str().c_str(), device_name(device).c_str(), torch::get_num_threads(),
                o.iterations, o.warmup);
    std::printf("# %.1f GFLOP per face (convolutions, transposed convolutions, to_rgb; the %.1f GFLOP "
                "of blurs and all elementwise work not counted)\n",
                flops.dense() / 1e9, flops.blurs / 1e9);
    if (cuda) {
      std::printf("# fp32 convolutions %s TF32; %% of peak against %s\n", o.tf32 ? "run as" : "do not use",
                  "fp32 67 / tf32 494 / fp16 989 / bf16 989 TFLOP/s unless --peak-tflops says otherwise");
      std::printf("# fused epilogue: %s\n", gpen::fused_epilogue_cuda_description().c_str());
    }

    // The default peaks are an H100's: a CPU's fraction needs --peak-tflops.
    Report report(o, flops.dense(), o.mode == "network", cuda || o.peak_given);
    report.header(o.mode == "frames" ? "frames" : "faces");

    // The reference's way: batch 1, grouped convolution, fp32.
    if (o.baseline && o.mode == "network") {
      const gpen::GpenGenerator reference(state, device, gpen::Precision::Fp32);
      const auto input = (torch::rand({1, 3, size, size}) * 2 - 1).to(device);
      Row r{"fp32", "reference", "off", 1, {}, 0};
      r.timing = time_it(device, o.warmup, o.iterations,
                         [&] { reference.forward(input, gpen::ForwardPath::Reference); });
      r.per_second = 1.0 / r.timing.seconds;
      report.row(r, peak_key(gpen::Precision::Fp32, o.tf32));
    }

    for (const auto& precision_text : o.precisions) {
      const auto precision = gpen::effective_precision(gpen::parse_precision(precision_text), device);
      for (const bool graphs : graph_modes) {
        if (graphs && (!cuda || o.graphs == "off")) continue;
        if (!graphs && cuda && o.graphs == "on") continue;
        const std::string graphs_text = graphs ? "on" : "off";

        if (o.mode == "network") {
          const gpen::GpenGenerator generator(state, device, precision);
          const auto path = o.path == "default" ? generator.default_path()
                            : o.path == "fast"  ? gpen::ForwardPath::Fast
                                                : gpen::ForwardPath::Exact;
          if (graphs && path != generator.default_path())
            throw UsageError("--graphs on replays the default path only");
          for (const int batch : o.batches) {
            const auto input = (torch::rand({batch, 3, size, size}) * 2 - 1).to(device);
            gpen::CudaGraphRunner runner(generator, 1);
            Row r{gpen::precision_name(precision), gpen::forward_path_name(path), graphs_text,
                  batch, {}, 0};
            try {
              r.timing = time_it(device, o.warmup, o.iterations, [&] {
                if (graphs) runner.forward(input);
                else generator.forward(input, path);
              });
            } catch (const c10::OutOfMemoryError&) {
              std::printf("| %s | %s | %s | %d | out of memory |\n", r.precision.c_str(),
                          r.path.c_str(), graphs_text.c_str(), batch);
              break;
            }
            r.per_second = batch / r.timing.seconds;
            report.row(r, peak_key(precision, o.tf32));
            if (!o.profile_dir.empty())
              profile_once(o.profile_dir + "/" + r.precision + "-" + r.path + "-graphs-" + graphs_text +
                               "-b" + std::to_string(batch) + ".json",
                           device, [&] {
                             if (graphs) runner.forward(input);
                             else generator.forward(input, path);
                           });
          }
        } else if (o.mode == "aligned") {
          // 512x512 RGB faces already in host memory, as decoded frames are.
          gpen::FaceEnhancer enhancer(state, device, precision);
          enhancer.set_cuda_graphs(graphs);
          for (const int batch : o.batches) {
            // Two sets of faces: consecutive batches are different frames.
            auto pixels = torch::randint(0, 256, {2, batch, 512, 512, 3}, torch::kUInt8);
            std::vector<gpen::ImageView> views[2];
            for (int set = 0; set < 2; ++set)
              for (int i = 0; i < batch; ++i) views[set].push_back(frame_view(pixels[set][i]));
            for (const int depth : o.depths) {
              Row r{gpen::precision_name(precision), depth == 1 ? "aligned" : "aligned, depth 2",
                    graphs_text, batch, {}, 0};
              if (depth == 1) {
                r.timing = time_it(device, o.warmup, o.iterations,
                                   [&] { enhancer.enhance_aligned(views[0], 1.0f); });
              } else {
                // Each batch launched before the previous one is finished, as
                // gpenenhance's pipeline-depth 2 does: a run of them timed
                // as one, per batch.
                const int runs = std::max(o.iterations, 2);
                r.timing = time_it(device, o.warmup > 0 ? 1 : 0, 1, [&] {
                  gpen::LaunchedBatch previous;
                  for (int k = 0; k < runs; ++k) {
                    gpen::LaunchedBatch next = enhancer.launch_aligned(views[k % 2], 1.0f);
                    previous.finish();
                    previous = std::move(next);
                  }
                  previous.finish();
                });
                r.timing.seconds /= runs;
              }
              r.per_second = batch / r.timing.seconds;
              report.row(r, peak_key(precision, o.tf32));
            }
          }
        } else {
          // 1920x1080 frames (or --input's), one face each. The detector runs
          // on every frame (RetinaFace R50: the given checkpoint, or random
          // weights whose cost is the same); the face restored is a fixed
          // box: a centred square of 37% of the frame's height (400x400 in
          // 1080p).
          gpen::FaceEnhancer enhancer(state, device, precision);
          enhancer.set_cuda_graphs(graphs);
          const gpen::RetinaFace detector = o.detector_model.empty()
              ? gpen::RetinaFace(random_retinaface_r50(1), device)
              : gpen::RetinaFace::load(o.detector_model, device);
          const bool decode = !o.input.empty();
          const int decode_threads =
              o.decode_threads > 0 ? o.decode_threads
                                   : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
          std::vector<torch::Tensor> frames;
          if (decode) {
            frames.push_back(decode_rgb(o.input));  // its size; and the file in the page cache
            // Decoding alone, for its ceiling on frames/s.
            const int sample = 4 * decode_threads;
            const auto start = std::chrono::steady_clock::now();
            DecodeAhead alone(o.input, decode_threads, sample);
            for (int i = 0; i < sample; ++i) alone.next();
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::printf("# frames decoded from %s (%lldx%lld) for every frame on %d thread(s); "
                        "decoding alone: %.1f frames/s\n",
                        o.input.c_str(), static_cast<long long>(frames[0].size(1)),
                        static_cast<long long>(frames[0].size(0)), decode_threads, sample / seconds);
          } else {
            for (int i = 0; i < 8; ++i)
              frames.push_back(torch::randint(0, 256, {1080, 1920, 3}, torch::kUInt8));
          }
          const float frame_height = static_cast<float>(frames[0].size(0));
          const float frame_width = static_cast<float>(frames[0].size(1));
          const float side = std::round(0.37f * frame_height);
          gpen::FaceDetection face;
          face.x1 = std::round((frame_width - side) / 2), face.y1 = std::round((frame_height - side) / 2);
          face.x2 = face.x1 + side, face.y2 = face.y1 + side;
          for (const int batch : o.batches) {
            gpen::FrameBatcher batcher(enhancer, nullptr, gpen::FaceMode::Full, batch);
            gpen::RestoreOptions options;
            std::size_t detected = 0;
            Row r{gpen::precision_name(precision), decode ? "frames+decode" : "frames", graphs_text,
                  batch, {}, 0};
            r.timing = time_it(device, 1, 1, [&] {
              std::optional<DecodeAhead> decoder;
              if (decode) decoder.emplace(o.input, decode_threads, o.frames);
              std::uint64_t id = 0;
              std::size_t done = 0;
              // Frames in and out of interleaved host pixels as gpenenhance
              // moves them (the batcher uploads each at push and writes its
              // results back in place).
              std::deque<torch::Tensor> waiting;  // pushed, not popped: their pixels
              auto write_back = [&] {
                while (batcher.pop()) {
                  waiting.pop_front();
                  ++done;
                }
              };
              for (int f = 0; f < o.frames; f += batch) {
                const int n = std::min(batch, o.frames - f);
                std::vector<torch::Tensor> chunk;
                for (int k = 0; k < n; ++k) {
                  waiting.push_back(decode ? decoder->next() : frames[(f + k) % frames.size()]);
                  chunk.push_back(gpen::upload_rgb(frame_view(waiting.back()), device));
                }
                // Detection on the device, batched as the batcher batches it
                // (its frames uploaded here once more: the faces it restores
                // are the ones given, as the fixture's weights are random).
                const auto found = detector.detect(torch::stack(chunk), 0.9f, 1500, 1000);
                for (const auto& faces : found) detected += faces.size();
                for (int k = 0; k < n; ++k)
                  batcher.push(id++, frame_view(waiting[waiting.size() - n + k]),
                               std::vector<gpen::FaceDetection>{face});
                batcher.advance(options, false);
                write_back();
              }
              batcher.advance(options, true);
              write_back();
              TORCH_CHECK(done == static_cast<std::size_t>(o.frames), "frames lost");
            });
            r.per_second = o.frames / r.timing.seconds;
            r.timing.seconds /= (o.frames + batch - 1) / batch;  // per batch of frames
            report.row(r, peak_key(precision, o.tf32));
            std::printf("#   (detector found %.1f faces per frame; each frame restores the one given)\n",
                        static_cast<double>(detected) / (2.0 * o.frames));
          }
        }
      }
    }
    std::printf("# memory: %s\n", cuda ? "device memory of the row's timed runs: peak allocated, or reserved "
                                          "when larger (a CUDA graph's pool)"
                                       : "peak resident set of the process so far");
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "gpen-benchmark: %s\n", e.what());
    usage();
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpen-benchmark: %s\n", e.what());
    return 1;
  }
}
