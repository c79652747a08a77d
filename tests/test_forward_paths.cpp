// The generator's three forward paths compute the same function: the exact
// path (the CPU's, checked against the reference fixtures), the fast path
// (CUDA's arrangement, runnable on the CPU too) and the reference's grouped
// convolution. Also the analytic FLOP count, the batch-size policy, and the
// CUDA graph runner's CPU fallback.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "batch_policy.h"
#include "checkpoint/checkpoint.h"
#include "generator/cuda_graph_runner.h"
#include "generator/fused_epilogue.h"
#include "generator/gpen_config.h"
#include "generator/gpen_flops.h"
#include "generator/gpen_generator.h"
#include "tensor_closeness.h"

namespace {

const std::string kDir = std::string(GPEN_TEST_DATA_DIR) + "/gpen-64/";

const gpen::TensorMap& fixture_state() {
  static const gpen::TensorMap state = gpen::load_checkpoint(kDir + "gpen-64.pth");
  return state;
}

torch::Tensor fixture_input() {
  return gpen::load_checkpoint(kDir + "gpen-64_tensors.pt").at("input");
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

TEST(ForwardPaths, AllThreeMatchTheReferenceFixture) {
  const auto tensors = gpen::load_checkpoint(kDir + "gpen-64_tensors.pt");
  const gpen::GpenGenerator g(fixture_state(), torch::kCPU, gpen::Precision::Fp32);
  EXPECT_EQ(g.default_path(), gpen::ForwardPath::Exact);
  for (const auto path : {gpen::ForwardPath::Exact, gpen::ForwardPath::Fast,
                          gpen::ForwardPath::Reference}) {
    const auto out = g.forward(tensors.at("input"), path);
    EXPECT_TRUE(out.is_contiguous());
    const double diff = max_abs_diff(out, tensors.at("output"));
    std::printf("%-9s path: max |ours - reference| = %.3g\n", gpen::forward_path_name(path), diff);
    EXPECT_LE(diff, 1e-4) << gpen::forward_path_name(path);
  }
}

// bf16 on the CPU (oneDNN's bf16 convolutions; the style path in fp32)
// against fp32: the fixture as a batch and one face at a time, and one face
// of the released 512 layout.
TEST(CpuBf16, IsWithin40dBOfFp32) {
  const auto check = [](const std::string& what, const gpen::TensorMap& state,
                        const torch::Tensor& input) {
    const gpen::GpenGenerator fp32(state, torch::kCPU, gpen::Precision::Fp32);
    const gpen::GpenGenerator bf16(state, torch::kCPU, gpen::Precision::Bf16);
    const auto reference = fp32.forward(input);
    const auto out = bf16.forward(input);
    ASSERT_EQ(out.scalar_type(), torch::kFloat) << what;
    ASSERT_TRUE(torch::isfinite(out).all().item<bool>()) << what;
    const double db = psnr(reference, out);
    std::printf("%s: bf16 PSNR %.1f dB against fp32\n", what.c_str(), db);
    EXPECT_GE(db, 40.0) << what;
    EXPECT_LT(db, 100.0) << what << ": bf16 computed nothing in bf16";
    if (input.size(0) == 1) return;  // already a single face
    for (std::int64_t i = 0; i < input.size(0); ++i) {
      EXPECT_GE(psnr(reference.slice(0, i, i + 1), bf16.forward(input.slice(0, i, i + 1))), 40.0)
          << what << " face " << i;
    }
  };
  check("gpen-64 fixture", fixture_state(), fixture_input());
  torch::manual_seed(9);
  check("gpen-512 shapes", gpen::random_gpen_state_dict(gpen::gpen_architecture("gpen-512"), 3),
        torch::rand({1, 3, 512, 512}) * 2 - 1);
}

TEST(ForwardPaths, FastEqualsExactOnReleasedShapes) {
  // The 256 layout (narrow 0.5) with random weights, a batch of two.
  const gpen::GpenGenerator g(
      gpen::random_gpen_state_dict(gpen::gpen_architecture("gpen-256"), 11), torch::kCPU,
      gpen::Precision::Fp32);
  torch::manual_seed(5);
  const auto input = torch::rand({2, 3, 256, 256}) * 2 - 1;
  const auto exact = g.forward(input, gpen::ForwardPath::Exact);
  const auto fast = g.forward(input, gpen::ForwardPath::Fast);
  const auto reference = g.forward(input, gpen::ForwardPath::Reference);
  const double scale = exact.abs().max().item<double>();
  ASSERT_GT(scale, 0.0);
  EXPECT_LE(max_abs_diff(fast, exact), 1e-4 * scale);
  EXPECT_LE(max_abs_diff(reference, exact), 1e-4 * scale);
}

TEST(ForwardPaths, AddedNoiseVariant) {
  // isconcat = false: the features are added, not concatenated.
  const auto config = gpen::gpen_config_from_hyperparameters(32, 64, 2, 1.0, 0.0625, false);
  const gpen::GpenGenerator g(gpen::random_gpen_state_dict(config, 3), torch::kCPU,
                              gpen::Precision::Fp32);
  torch::manual_seed(6);
  const auto input = torch::rand({3, 3, 32, 32}) * 2 - 1;
  const auto exact = g.forward(input, gpen::ForwardPath::Exact);
  EXPECT_LE(max_abs_diff(g.forward(input, gpen::ForwardPath::Fast), exact),
            1e-4 * exact.abs().max().item<double>());
}

TEST(ForwardPaths, ReferencePathIsFp32Only) {
  const auto config = gpen::gpen_config_from_hyperparameters(32, 64, 2, 1.0, 0.0625);
  const gpen::GpenGenerator g(gpen::random_gpen_state_dict(config, 3), torch::kCPU,
                              gpen::Precision::Bf16);
  EXPECT_THROW(g.forward(torch::zeros({1, 3, 32, 32}), gpen::ForwardPath::Reference),
               c10::Error);
}

TEST(FusedEpilogue, ComputesTheDefinition) {
  // Two conv channels and two feature channels, one pixel, by hand.
  gpen::EpilogueInputs in;
  in.conv = torch::tensor({1.0f, -2.0f}).view({1, 2, 1, 1});
  in.out_scale = torch::tensor({{0.5f, 2.0f}});
  in.features = torch::tensor({3.0f, -1.0f}).view({1, 2, 1, 1});
  in.noise_weight = 0.25;
  in.bias = torch::tensor({0.5f, 0.0f, 0.0f, 1.0f});
  in.next_scale = torch::tensor({{2.0f, 1.0f, 1.0f, 1.0f}});
  in.want_plain = true;
  const auto out = gpen::fused_epilogue(in);
  const double g = std::sqrt(2.0);
  // [1*0.5 + 0.5, -2*2 + 0, 0.75 + 0, -0.25 + 1] -> leaky ReLU -> * sqrt(2)
  const auto plain = torch::tensor({1.0 * g, -0.8 * g, 0.75 * g, 0.75 * g}, torch::kFloat);
  EXPECT_TRUE(torch::allclose(out.plain.flatten(), plain));
  EXPECT_TRUE(torch::allclose(out.scaled.flatten(), plain * torch::tensor({2.0f, 1.0f, 1.0f, 1.0f})));
  EXPECT_TRUE(out.scaled.is_contiguous(torch::MemoryFormat::ChannelsLast));
}

TEST(GpenFlops, Gpen512IsAbout027TeraflopsPerFace) {
  const auto f = gpen::count_gpen_flops(gpen::gpen_architecture("gpen-512"));
  // The figure; the convolutions are nearly all of it.
  EXPECT_NEAR(f.dense(), 0.274e12, 0.005e12);
  EXPECT_LT(f.blurs, 0.02 * f.dense());
  EXPECT_GT(f.convolutions, f.transposed);
  // GPEN halves the channels as it doubles the size, so the 1024 model
  // costs only a quarter more (its extra 1024x1024 stage has 32 channels).
  const auto f1024 = gpen::count_gpen_flops(gpen::gpen_architecture("gpen-1024"));
  EXPECT_NEAR(f1024.dense() / f.dense(), 1.25, 0.05);
}

TEST(BatchPolicy, LadderDoublesUpToTheLimit) {
  EXPECT_EQ(gpen::batch_ladder(1), std::vector<int>({1}));
  EXPECT_EQ(gpen::batch_ladder(16), std::vector<int>({1, 2, 4, 8, 16}));
  EXPECT_EQ(gpen::batch_ladder(24), std::vector<int>({1, 2, 4, 8, 16, 24}));
  EXPECT_EQ(gpen::batch_ladder(1000), std::vector<int>({1, 2, 4, 8, 16, 32, 64}));
  EXPECT_EQ(gpen::batch_ladder(0), std::vector<int>({1}));
}

TEST(BatchPolicy, KneeIsTheSmallestBatchNearTheBest) {
  using S = gpen::ThroughputSample;
  // Saturating curve: 16 is within 5% of the best (64).
  const std::vector<S> saturating = {{1, 140}, {2, 260}, {4, 480}, {8, 800},
                                     {16, 980}, {32, 1010}, {64, 1020}};
  EXPECT_EQ(gpen::throughput_knee(saturating), 16);
  EXPECT_EQ(gpen::throughput_knee(saturating, 0.01), 32);
  // The laptop case: a larger batch is slower, so the knee is before it.
  const std::vector<S> falling = {{1, 20}, {2, 39}, {4, 30}};
  EXPECT_EQ(gpen::throughput_knee(falling), 2);
  EXPECT_TRUE(gpen::past_the_knee(falling));
  EXPECT_FALSE(gpen::past_the_knee({{1, 20}, {2, 39}}));
  EXPECT_EQ(gpen::throughput_knee({}), 1);
}

TEST(BatchPolicy, DescribesItsChoice) {
  gpen::BatchChoice choice;
  choice.batch = 16;
  choice.fits = 64;
  choice.memory = {8ull << 30, 200ull << 20};
  choice.samples = {{1, 140.0}, {16, 980.5}};
  const auto text = choice.describe();
  EXPECT_NE(text.find("batch 16"), std::string::npos) << text;
  EXPECT_NE(text.find("8192 MiB free, 200 MiB per face"), std::string::npos) << text;
  EXPECT_NE(text.find("16:980.5"), std::string::npos) << text;
}

TEST(CudaGraphRunner, OnTheCpuItIsTheGenerator) {
  const gpen::GpenGenerator g(fixture_state(), torch::kCPU, gpen::Precision::Fp32);
  gpen::CudaGraphRunner runner(g);
  EXPECT_FALSE(runner.uses_graphs());
  const auto input = fixture_input();
  EXPECT_TRUE(torch::equal(runner.forward(input), g.forward(input)));
  EXPECT_EQ(runner.graphs(), 0);
}

}  // namespace
