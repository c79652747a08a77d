// CUDA checks of the generator (skipped where this build or machine has no
// CUDA): the fused kernel against its ATen definition, the fast path against
// the exact one, fp16 and bf16 within 40 dB PSNR of fp32, batch invariance,
// and CUDA graph replay.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <torch/cuda.h>
#include <torch/torch.h>

#ifdef GPEN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include "batch_size_measurement.h"
#include "checkpoint/checkpoint.h"
#include "epilogue_cases.h"
#include "face_enhancer.h"
#include "generator/cuda_graph_runner.h"
#include "generator/fused_epilogue.h"
#include "generator/fused_to_rgb.h"
#include "generator/gpen_config.h"
#include "generator/gpen_generator.h"
#include "runtime/cuda_memory.h"
#include "runtime/pixel_transfer.h"
#include "tensor_closeness.h"

namespace {

const std::string kDir = std::string(GPEN_TEST_DATA_DIR) + "/gpen-64/";

#define REQUIRE_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"

const torch::Device kCuda(torch::kCUDA, 0);

// fp32 that is fp32: cuDNN would otherwise run fp32 convolutions as TF32.
class NoTf32 {
 public:
  NoTf32() : saved_(at::globalContext().allowTF32CuDNN()) {
    at::globalContext().setAllowTF32CuDNN(false);
  }
  ~NoTf32() { at::globalContext().setAllowTF32CuDNN(saved_); }

 private:
  bool saved_;
};

const char* name(gpen::Precision p) { return gpen::precision_name(p); }

TEST(CudaFusedEpilogue, KernelMatchesItsDefinition) {
  REQUIRE_CUDA();
  std::printf("fused CUDA kernel compiled in: %s\n",
              gpen::fused_epilogue_has_cuda_kernel() ? "yes" : "no (ATen on CUDA)");
  torch::manual_seed(1);
  const epilogue_cases::Blur blur;
  for (const auto& c : epilogue_cases::all()) {
    SCOPED_TRACE(c.describe());
    const auto cpu = epilogue_cases::inputs(c, blur);
    const auto gpu = epilogue_cases::on(cpu, kCuda);
    const auto expected = gpen::fused_epilogue(cpu);
    const auto got = gpen::fused_epilogue(gpu);
    ASSERT_EQ(got.scaled.sizes(), expected.scaled.sizes());
    EXPECT_EQ(got.scaled.scalar_type(), c.dtype);
    EXPECT_TRUE(got.scaled.is_contiguous(torch::MemoryFormat::ChannelsLast));
    const double tolerance = epilogue_cases::tolerance(c.dtype);
    EXPECT_LE(relative_max_diff(expected.scaled, got.scaled), tolerance);
    EXPECT_LE(relative_max_diff(expected.plain, got.plain), tolerance);
#ifdef GPEN_WITH_CUDA_KERNELS
    // Every blocking compiled (the one in use above): the same bits, as each
    // adds an output's taps in the same order.
    for (const auto block : epilogue_cases::kBlocks) {
      SCOPED_TRACE(testing::Message() << "block " << block.rows << "x" << block.columns);
      gpen::cuda::EpilogueBlocking blocking;
      blocking.blur = blocking.plain = block;
      auto launch = gpen::prepare_epilogue_kernel(gpu);
      launch.args.stream = c10::cuda::getCurrentCUDAStream().stream();
      ASSERT_STREQ(gpen::cuda::launch_fused_epilogue(launch.args, blocking), "");
      EXPECT_TRUE(torch::equal(launch.outputs.scaled, got.scaled));
      EXPECT_TRUE(torch::equal(launch.outputs.plain, got.plain));
    }
#endif
  }
}

// to_rgb folded into the epilogue (tests/epilogue_cases.h's fold cases, on
// the CPU in test_kernel_emulation): the activations and the RGB as by
// definition (every case folds in a build with the kernels).
TEST(CudaFusedEpilogue, FoldsToRgb) {
  REQUIRE_CUDA();
  torch::manual_seed(11);
  const epilogue_cases::Blur blur;
  for (const auto& c : epilogue_cases::fold_cases()) {
    SCOPED_TRACE(c.describe());
    const auto cpu = epilogue_cases::fold_inputs(c, blur);
    const auto gpu = epilogue_cases::on(cpu, kCuda);
    const auto expected = epilogue_cases::fold_definition(cpu);
    const auto got = gpen::fused_epilogue(gpu);
    EXPECT_EQ(got.scaled.defined(), c.want_scaled);
    EXPECT_FALSE(got.plain.defined());
    const double tolerance = epilogue_cases::tolerance(c.base.dtype);
    if (c.want_scaled) {
      EXPECT_LE(relative_max_diff(expected.scaled, got.scaled), tolerance);
    }
    ASSERT_EQ(got.rgb.sizes(), expected.rgb.sizes());
#ifdef GPEN_WITH_CUDA_KERNELS
    EXPECT_TRUE(gpen::epilogue_kernel_folds_to_rgb(gpu));
    EXPECT_LE(relative_max_diff(expected.rgb, got.rgb), tolerance);
#else
    // ATen's batched product rounds to the activations' dtype.
    const auto dtype = c.base.dtype;
    EXPECT_LE(relative_max_diff(expected.rgb, got.rgb),
              dtype == torch::kFloat ? 1e-5 : dtype == torch::kHalf ? 2e-3 : 2e-2);
#endif
  }
}

TEST(CudaFusedToRgb, KernelMatchesItsDefinition) {
  REQUIRE_CUDA();
  torch::manual_seed(5);
  const std::int64_t batch = 3, height = 5, width = 7;
  // 8 channels: one lane per pixel in fp16, two in fp32; 128: 16 lanes;
  // 1024: a warp per pixel, several packets per lane; 24: not a power of two
  // (the batched matrix product).
  for (const std::int64_t channels : {8, 24, 128, 1024})
  for (const auto dtype : {torch::kFloat, torch::kHalf, torch::kBFloat16})
  for (const bool with_skip : {false, true}) {
    SCOPED_TRACE(testing::Message() << "channels " << channels << " dtype " << dtype << " skip " << with_skip);
    const auto x = (torch::randn({batch, channels, height, width}) * 2).to(dtype);
    const auto weight = torch::randn({batch, 3, channels}) / std::sqrt(static_cast<double>(channels));
    const auto bias = torch::randn({1, 3, 1, 1});
    const auto skip = with_skip ? torch::randn({batch, 3, height, width}) : torch::Tensor();
    // The definition, in fp32 on the CPU from the same rounded inputs.
    auto expected = torch::einsum("bchw,bkc->bkhw", {x.to(torch::kFloat), weight}) + bias;
    if (with_skip) expected = expected + skip;
    const auto got = gpen::fused_to_rgb(x.to(kCuda).contiguous(torch::MemoryFormat::ChannelsLast),
                                        weight.to(kCuda), bias.to(kCuda),
                                        with_skip ? skip.to(kCuda) : torch::Tensor());
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_EQ(got.scalar_type(), torch::kFloat);
    // The kernel keeps fp32 throughout; the fallback rounds weights and
    // products to the activations' dtype.
    const bool kernel = channels != 24;
    const double tolerance = dtype == torch::kFloat || kernel ? 1e-5 : dtype == torch::kHalf ? 2e-3 : 2e-2;
    EXPECT_LE(relative_max_diff(expected, got), tolerance);
  }
}

TEST(CudaGenerator, EveryPathMatchesTheReferenceFixtureInFp32) {
  REQUIRE_CUDA();
  const NoTf32 exact_fp32;
  const auto tensors = gpen::load_checkpoint(kDir + "gpen-64_tensors.pt");
  const gpen::GpenGenerator g(gpen::load_checkpoint(kDir + "gpen-64.pth"), kCuda,
                              gpen::Precision::Fp32);
  EXPECT_EQ(g.default_path(), gpen::ForwardPath::Fast);
  for (const auto path :
       {gpen::ForwardPath::Exact, gpen::ForwardPath::Fast, gpen::ForwardPath::Reference}) {
    const auto out = g.forward(tensors.at("input").to(kCuda), path);
    ASSERT_TRUE(out.is_cuda());
    const double diff = (out.cpu() - tensors.at("output")).abs().max().item<double>();
    std::printf("CUDA %-9s path: max |ours - reference| = %.3g\n", gpen::forward_path_name(path),
                diff);
    EXPECT_LE(diff, 1e-4) << gpen::forward_path_name(path);
  }
}

// fp16 and bf16 against fp32 (TF32 off), for a model and input.
void expect_half_precision_close(const std::string& what, const gpen::TensorMap& state,
                                 const torch::Tensor& input) {
  torch::Tensor reference;
  {
    const NoTf32 exact_fp32;
    const gpen::GpenGenerator g(state, kCuda, gpen::Precision::Fp32);
    reference = g.forward(input.to(kCuda), gpen::ForwardPath::Exact);
  }
  for (const auto precision : {gpen::Precision::Fp16, gpen::Precision::Bf16}) {
    const gpen::GpenGenerator g(state, kCuda, precision);
    const auto out = g.forward(input.to(kCuda));
    ASSERT_TRUE(torch::isfinite(out).all().item<bool>()) << what << " " << name(precision);
    const double db = psnr(reference, out);
    std::printf("%s %s: PSNR %.1f dB against fp32\n", what.c_str(), name(precision), db);
    testing::Test::RecordProperty(what + "_" + name(precision) + "_psnr_db", std::to_string(db));
    EXPECT_GE(db, 40.0) << what << " " << name(precision);
  }
}

TEST(CudaGenerator, HalfPrecisionIsWithin40dBOfFp32OnTheFixture) {
  REQUIRE_CUDA();
  const auto tensors = gpen::load_checkpoint(kDir + "gpen-64_tensors.pt");
  expect_half_precision_close("gpen-64 fixture", gpen::load_checkpoint(kDir + "gpen-64.pth"),
                              tensors.at("input"));
}

TEST(CudaGenerator, HalfPrecisionIsWithin40dBOfFp32On512Shapes) {
  REQUIRE_CUDA();
  torch::manual_seed(2);
  expect_half_precision_close(
      "gpen-512 random",
      gpen::random_gpen_state_dict(gpen::gpen_architecture("gpen-512"), 7),
      torch::rand({2, 3, 512, 512}) * 2 - 1);
}

TEST(CudaGenerator, HalfPrecisionIsWithin40dBOfFp32On1024Shapes) {
  REQUIRE_CUDA();
  torch::manual_seed(3);
  expect_half_precision_close(
      "gpen-1024 random",
      gpen::random_gpen_state_dict(gpen::gpen_architecture("gpen-1024"), 8),
      torch::rand({1, 3, 1024, 1024}) * 2 - 1);
}

TEST(CudaGenerator, BatchedEqualsOneAtATime) {
  REQUIRE_CUDA();
  const auto state = gpen::random_gpen_state_dict(gpen::gpen_architecture("gpen-256"), 9);
  torch::manual_seed(4);
  const auto input = (torch::rand({4, 3, 256, 256}) * 2 - 1).to(kCuda);
  for (const auto precision :
       {gpen::Precision::Fp32, gpen::Precision::Fp16, gpen::Precision::Bf16}) {
    const gpen::GpenGenerator g(state, kCuda, precision);
    const auto batched = g.forward(input);
    for (int i = 0; i < 4; ++i) {
      const auto single = g.forward(input.slice(0, i, i + 1));
      // Batch sizes may get different cuDNN algorithms: equal up to rounding.
      const double db = psnr(single, batched.slice(0, i, i + 1));
      EXPECT_GE(db, precision == gpen::Precision::Fp32 ? 60.0 : 45.0)
          << name(precision) << " face " << i;
    }
  }
}

TEST(CudaGraphRunner, ReplaysWhatTheGeneratorComputes) {
  REQUIRE_CUDA();
  const gpen::GpenGenerator g(
      gpen::random_gpen_state_dict(gpen::gpen_architecture("gpen-256"), 10), kCuda,
      gpen::Precision::Fp16);
  gpen::CudaGraphRunner runner(g, /*max_graphs=*/2);
  ASSERT_TRUE(runner.uses_graphs());
  torch::manual_seed(5);
  for (int round = 0; round < 3; ++round) {
    // New inputs each time: the graph must read them, not its first ones.
    const auto input = (torch::rand({3, 3, 256, 256}) * 2 - 1).to(kCuda);
    const auto eager = g.forward(input);
    const auto replayed = runner.forward(input);
    EXPECT_GE(psnr(eager, replayed), 60.0) << "round " << round;
  }
  EXPECT_EQ(runner.graphs(), 1);
  // A second size gets its own graph, a third runs eagerly.
  runner.forward(torch::zeros({1, 3, 256, 256}, kCuda));
  runner.forward(torch::zeros({2, 3, 256, 256}, kCuda));
  EXPECT_EQ(runner.graphs(), 2);
}

// A 1-level tolerance: rounding to 8 bits may fall either side of a half.
TEST(CudaFaceEnhancer, AlignedFacesMatchTheCpuAndKeepTheirOtherBytes) {
  REQUIRE_CUDA();
  const NoTf32 exact_fp32;
  const auto state = gpen::load_checkpoint(kDir + "gpen-64.pth");
  gpen::FaceEnhancer cuda(state, kCuda, gpen::Precision::Fp32);
  gpen::FaceEnhancer cpu(state, torch::kCPU, gpen::Precision::Fp32);
  // Two 70x50 BGRx faces with 12 bytes of row padding, random bytes.
  const int width = 70, height = 50, stride = width * 4 + 12;
  torch::manual_seed(6);
  const auto original = torch::randint(0, 256, {2, height * stride}, torch::kUInt8);
  auto on_cuda = original.clone(), on_cpu = original.clone();
  auto views = [&](torch::Tensor& bytes) {
    std::vector<gpen::ImageView> v(2);
    for (int i = 0; i < 2; ++i) {
      v[i].data = bytes[i].data_ptr<std::uint8_t>();
      v[i].width = width;
      v[i].height = height;
      v[i].row_stride = stride;
      v[i].pixel_stride = 4;
      v[i].blue = 0;
      v[i].green = 1;
      v[i].red = 2;
    }
    return v;
  };
  cuda.enhance_aligned(views(on_cuda), 0.7f);
  cpu.enhance_aligned(views(on_cpu), 0.7f);
  const auto layout = [&](const torch::Tensor& bytes) {
    return bytes.view({2, height, stride});
  };
  const auto colour = [&](const torch::Tensor& bytes) {
    return layout(bytes).slice(2, 0, width * 4).view({2, height, width, 4}).slice(3, 0, 3);
  };
  // Alpha and padding bytes as they were; colours changed, as on the CPU.
  EXPECT_TRUE(torch::equal(layout(on_cuda).slice(2, width * 4), layout(original).slice(2, width * 4)));
  EXPECT_TRUE(torch::equal(layout(on_cuda).slice(2, 0, width * 4).view({2, height, width, 4}).select(3, 3),
                           layout(original).slice(2, 0, width * 4).view({2, height, width, 4}).select(3, 3)));
  EXPECT_FALSE(torch::equal(colour(on_cuda), colour(original)));
  const auto diff = (colour(on_cuda).to(torch::kInt) - colour(on_cpu).to(torch::kInt)).abs();
  EXPECT_LE(diff.max().item<int>(), 1);
}

TEST(CudaFaceEnhancer, ABatchFinishesWhileTheNextRunsAndBothMatch) {
  REQUIRE_CUDA();
#ifdef GPEN_WITH_CUDA
  // GPEN-512 shapes: the second batch keeps the device busy for milliseconds.
  const auto state = gpen::random_gpen_state_dict(gpen::gpen_architecture("gpen-512"), 13);
  gpen::FaceEnhancer enhancer(state, kCuda, gpen::Precision::Fp16);
  torch::manual_seed(13);
  const auto original = torch::randint(0, 256, {2, 16, 512 * 512 * 3}, torch::kUInt8);
  auto views = [](torch::Tensor bytes) {
    std::vector<gpen::ImageView> v(static_cast<std::size_t>(bytes.size(0)));
    for (std::size_t i = 0; i < v.size(); ++i) {
      v[i].data = bytes[static_cast<std::int64_t>(i)].data_ptr<std::uint8_t>();
      v[i].width = v[i].height = 512;
      v[i].row_stride = 512 * 3;
    }
    return v;
  };
  auto expected = original.clone();
  for (int b = 0; b < 2; ++b) enhancer.enhance_aligned(views(expected[b]), 1.0f);

  auto pixels = original.clone();
  gpen::LaunchedBatch first = enhancer.launch_aligned(views(pixels[0]), 1.0f);
  gpen::LaunchedBatch second = enhancer.launch_aligned(views(pixels[1]), 1.0f);
  first.finish();
  // Finishing the first batch waited for its results, not for the second's
  // network, still queued or running behind them.
  const bool second_still_running = !c10::cuda::getCurrentCUDAStream(0).query();
  EXPECT_TRUE(torch::equal(pixels[0], expected[0]));
  EXPECT_TRUE(torch::equal(pixels[1], original[1])) << "written before its finish()";
  second.finish();
  EXPECT_TRUE(torch::equal(pixels[1], expected[1]));
  EXPECT_TRUE(second_still_running) << "finish() waited for the next batch too";
#endif
}

TEST(CudaPixelTransfer, FramesCrossOnceEachWayAndOnlyTheirColoursChange) {
  REQUIRE_CUDA();
  // Two 1080p-sized BGRx frames with row padding, random bytes.
  const int width = 1920, height = 1080, stride = width * 4 + 64;
  torch::manual_seed(8);
  const auto original = torch::randint(0, 256, {2, height * stride}, torch::kUInt8);
  auto bytes = original.clone();
  std::vector<gpen::ImageView> views(2);
  for (int i = 0; i < 2; ++i) {
    views[i].data = bytes[i].data_ptr<std::uint8_t>();
    views[i].width = width, views[i].height = height, views[i].row_stride = stride;
    views[i].pixel_stride = 4, views[i].blue = 0, views[i].green = 1, views[i].red = 2;
  }
  std::vector<torch::Tensor> on_device;
  for (const auto& v : views) {
    on_device.push_back(gpen::upload_rgb(v, kCuda));
    EXPECT_TRUE(on_device.back().is_cuda());
    EXPECT_TRUE(torch::equal(on_device.back().cpu(), gpen::read_rgb(v)));
  }
  auto expected = original.clone();
  gpen::PixelDownloads downloads;
  for (int i = 0; i < 2; ++i) {
    const auto restored = 255 - on_device[static_cast<std::size_t>(i)];
    downloads.add(restored, views[static_cast<std::size_t>(i)]);
    auto view = views[static_cast<std::size_t>(i)];
    view.data = expected[i].data_ptr<std::uint8_t>();
    gpen::write_rgb(restored.cpu(), view);
  }
  EXPECT_TRUE(torch::equal(bytes, original)) << "written before finish()";
  downloads.finish();
  EXPECT_TRUE(torch::equal(bytes, expected));
}

TEST(CudaFaceEnhancer, AutomaticBatchSizeIsTheMeasuredKnee) {
  REQUIRE_CUDA();
  const auto state = gpen::random_gpen_state_dict(gpen::gpen_architecture("gpen-256"), 12);
  gpen::FaceEnhancer enhancer(state, kCuda, gpen::Precision::Fp16);
  const gpen::BatchChoice choice = gpen::automatic_batch_size(enhancer);
  const int batch = choice.batch;
  std::printf("automatic: %s\n", choice.describe().c_str());
  EXPECT_GE(batch, 1);
  EXPECT_LE(batch, choice.fits);
  ASSERT_FALSE(choice.samples.empty());
  EXPECT_EQ(batch, gpen::throughput_knee(choice.samples));
  EXPECT_GT(choice.memory.per_face_bytes, 0u);
  // Cached for the process: another enhancer of the model does not measure.
  gpen::FaceEnhancer again(state, kCuda, gpen::Precision::Fp16);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(gpen::automatic_batch_size(again).batch, batch);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.5);
}

#ifdef GPEN_WITH_CUDA
// Caps the caching allocator, for the lifetime of the object.
class MemoryLimit {
 public:
  explicit MemoryLimit(double fraction) { c10::cuda::CUDACachingAllocator::setMemoryFraction(fraction, 0); }
  ~MemoryLimit() { c10::cuda::CUDACachingAllocator::setMemoryFraction(1.0, 0); }
};

TEST(CudaFaceEnhancer, OutOfMemorySplitsTheBatchAndLosesNoFace) {
  REQUIRE_CUDA();
  // The 512 model: a face's activations (~0.4 GB) dwarf any cuDNN workspace.
  const auto state = gpen::random_gpen_state_dict(gpen::gpen_architecture("gpen-512"), 13);
  gpen::FaceEnhancer enhancer(state, kCuda, gpen::Precision::Fp16);
  enhancer.set_cuda_graphs(false);
  torch::manual_seed(7);
  const auto crops = (torch::rand({8, 3, 512, 512}) * 255).to(kCuda);
  std::vector<torch::Tensor> singles;
  for (int i = 0; i < 8; ++i) singles.push_back(enhancer.enhance_crops(crops.slice(0, i, i + 1)));

  // Peaks of one and two faces (after cuDNN's search for their shapes): the
  // difference is one face's activations. A cap at the one-face peak plus
  // 1.5 faces lets two faces run and not four or eight.
  const auto stats = [] { return c10::cuda::CUDACachingAllocator::getDeviceStats(0); };
  auto peak = [&](int faces) {
    gpen::cuda_release_cache();
    gpen::cuda_reset_peak(0);
    enhancer.enhance_crops(crops.slice(0, faces));
    return static_cast<double>(stats().allocated_bytes[0].peak);
  };
  peak(2);
  const double one = peak(1), two = peak(2);
  gpen::cuda_release_cache();
  const double total = static_cast<double>(gpen::cuda_memory_info(0)->total_bytes);
  std::printf("peak with one face %.0f MiB, one more face %.0f MiB\n", one / 1048576,
              (two - one) / 1048576);
  torch::Tensor batched;
  {
    const MemoryLimit limit((one + 1.5 * (two - one)) / total);
    batched = enhancer.enhance_crops(crops);
  }
  std::printf("out-of-memory splits: %d\n", enhancer.out_of_memory_splits());
  EXPECT_GT(enhancer.out_of_memory_splits(), 0);
  ASSERT_EQ(batched.size(0), 8);
  for (int i = 0; i < 8; ++i) EXPECT_GE(psnr(singles[i], batched.slice(0, i, i + 1)), 45.0) << i;
}
#endif

}  // namespace
