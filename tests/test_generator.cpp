// GPEN generator: configuration inference, strict loading, and numerical
// parity with the reference implementation's fixtures.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "checkpoint/checkpoint.h"
#include "generator/gpen_config.h"
#include "generator/gpen_generator.h"
#include "generator/transposed_conv_phases.h"
#include "runtime/convolve.h"
#include "runtime/error.h"
#include "tensor_closeness.h"

namespace {

const std::string kDir = std::string(GPEN_TEST_DATA_DIR) + "/gpen-64/";

const gpen::TensorMap& fixture_state() {
  static const gpen::TensorMap state = gpen::load_checkpoint(kDir + "gpen-64.pth");
  return state;
}

const gpen::TensorMap& fixture_tensors() {
  static const gpen::TensorMap tensors = gpen::load_checkpoint(kDir + "gpen-64_tensors.pt");
  return tensors;
}

gpen::GpenGenerator fixture_generator() {
  return gpen::GpenGenerator(fixture_state(), torch::kCPU, gpen::Precision::Fp32);
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// A state_dict of uninitialised meta tensors: shapes only, no memory.
gpen::TensorMap shapes_only(const gpen::GpenConfig& config) {
  gpen::TensorMap state;
  for (const auto& [key, shape] : gpen::expected_gpen_shapes(config))
    state[key] = torch::empty(shape, torch::TensorOptions().device(torch::kMeta));
  return state;
}

// The phase form is the transposed convolution, for every kernel size's
// parity, non-square inputs, batches, and the 1x1 corner.
TEST(TransposedConvPhases, EqualsConvTranspose2d) {
  namespace F = torch::nn::functional;
  // Against conv_transpose2d in double precision, to a bound relative to
  // the values' scale: float32 sums of up to 6 x 25 products differ from the
  // exact sum by a few units in the last place of the largest value (an
  // absolute 1e-5 failed under LibTorch 2.11 at 1.14e-5 on values near 20).
  constexpr double kRelative = 2e-6;
  const auto exact = [](const torch::Tensor& x, const torch::Tensor& weight) {
    return F::conv_transpose2d(x.to(torch::kDouble), weight.to(torch::kDouble),
                               F::ConvTranspose2dFuncOptions().stride(2));
  };
  torch::manual_seed(7);
  for (const int k : {1, 2, 3, 4, 5}) {
    for (const auto& [h, w] : {std::pair{1, 1}, std::pair{5, 8}, std::pair{9, 4}}) {
      const auto weight = torch::randn({6, 5, k, k});
      const auto x = torch::randn({3, 6, h, w});
      const auto expected = exact(x, weight);
      const gpen::TransposedConvPhases phases(weight);
      const auto got = phases(x);
      ASSERT_EQ(got.sizes(), expected.sizes()) << "k " << k << ", " << h << "x" << w;
      EXPECT_LE(relative_max_diff(expected, got), kRelative) << "k " << k << ", " << h << "x" << w;
      // The weight scaled per input and per output channel.
      const auto in_scale = torch::rand({6}) + 0.5, out_scale = torch::rand({5}) + 0.5;
      const auto scaled = exact(x, weight * in_scale.view({-1, 1, 1, 1}) * out_scale.view({1, -1, 1, 1}));
      EXPECT_LE(relative_max_diff(scaled, phases(x, in_scale, out_scale)), kRelative) << "k " << k;
      EXPECT_LE(relative_max_diff(exact(x, weight * out_scale.view({1, -1, 1, 1})),
                                  phases(x, {}, out_scale)),
                kRelative)
          << "k " << k;
    }
  }
}

// gpen::convolve against LibTorch's convolution in double precision (never
// oneDNN), over the shapes LibTorch itself would not give oneDNN (1x1 on one
// thread, small inputs) and those it would: strides, padding, groups, bias,
// either layout, a strided view, an empty batch.
TEST(Convolve, EqualsTorchConv2d) {
  torch::manual_seed(11);
  struct Case {
    std::vector<std::int64_t> input, weight;
    std::int64_t stride, padding, groups;
    bool bias, channels_last;
  };
  const std::vector<Case> cases = {
      {{1, 64, 40, 30}, {32, 64, 1, 1}, 1, 0, 1, true, false},    // 1x1
      {{1, 64, 40, 30}, {32, 64, 1, 1}, 2, 0, 1, false, true},    // 1x1, stride 2
      {{1, 512, 4, 4}, {512, 512, 3, 3}, 1, 1, 1, false, true},   // a small input
      {{2, 8, 9, 7}, {6, 8, 3, 3}, 2, 1, 1, true, false},         // odd sizes
      {{1, 16, 12, 12}, {16, 1, 4, 4}, 1, 0, 16, false, true},    // depthwise blur
      {{3, 6, 10, 10}, {9, 2, 5, 5}, 1, 2, 3, true, false},       // groups
      {{0, 4, 5, 5}, {4, 4, 3, 3}, 1, 1, 1, false, false},        // no images
  };
  const int threads_before = at::get_num_threads();
  for (const int threads : {1, 2}) {
    at::set_num_threads(threads);
    for (const auto& c : cases) {
      auto x = torch::randn(c.input), w = torch::randn(c.weight);
      const auto b = c.bias ? torch::randn({c.weight[0]}) : torch::Tensor();
      if (c.channels_last) {
        x = x.contiguous(torch::MemoryFormat::ChannelsLast);
        w = w.contiguous(torch::MemoryFormat::ChannelsLast);
      }
      const auto expected =
          torch::conv2d(x.to(torch::kDouble), w.to(torch::kDouble),
                        b.defined() ? b.to(torch::kDouble) : b, c.stride, c.padding, 1, c.groups);
      const auto got = gpen::convolve(x, w, b, c.stride, c.padding, c.groups);
      const auto what = torch::str(c.input, " * ", c.weight, " threads ", threads);
      ASSERT_EQ(got.sizes(), expected.sizes()) << what;
      ASSERT_EQ(got.scalar_type(), torch::kFloat) << what;
      if (got.numel() == 0) continue;
      EXPECT_LE(max_abs_diff(got.to(torch::kDouble), expected),
                1e-4 * expected.abs().max().item<double>())
          << what;
    }
    // A view with a storage offset and row strides, in the default layout.
    const auto base = torch::randn({1, 8, 20, 20});
    const auto view = base.slice(2, 3, 17).slice(3, 1, 19);
    const auto w = torch::randn({4, 8, 1, 1});
    EXPECT_LE(max_abs_diff(gpen::convolve(view, w), torch::conv2d(view.contiguous(), w)), 1e-5);
  }
  at::set_num_threads(threads_before);
}

TEST(TransposedConvPhases, RefusesWhatItIsNot) {
  EXPECT_THROW(gpen::TransposedConvPhases(torch::zeros({4, 3, 3, 2})), c10::Error);
  const gpen::TransposedConvPhases phases(torch::zeros({4, 3, 3, 3}));
  // Nine taps in all, as in the 3x3 kernel: 2x2, 2x1, 1x2 and 1x1.
  const auto& weights = phases.phase_weights();
  EXPECT_EQ(weights[0].sizes(), (std::vector<std::int64_t>{3, 4, 2, 2}));
  EXPECT_EQ(weights[1].sizes(), (std::vector<std::int64_t>{3, 4, 2, 1}));
  EXPECT_EQ(weights[2].sizes(), (std::vector<std::int64_t>{3, 4, 1, 2}));
  EXPECT_EQ(weights[3].sizes(), (std::vector<std::int64_t>{3, 4, 1, 1}));
  EXPECT_FALSE(gpen::TransposedConvPhases(torch::zeros({4, 3, 1, 1})).phase_weights()[3].defined());
  EXPECT_THROW(phases(torch::zeros({1, 5, 4, 4})), c10::Error);
}

TEST(GpenConfig, InfersTheFixtureHyperparameters) {
  const auto config = gpen::infer_gpen_config(fixture_state());
  EXPECT_EQ(config.size, 64);
  EXPECT_EQ(config.style_dim, 128);
  EXPECT_EQ(config.n_mlp, 8);
  EXPECT_TRUE(config.isconcat);
  EXPECT_DOUBLE_EQ(config.narrow(), 0.125);
  EXPECT_DOUBLE_EQ(config.channel_multiplier(), 1.0);
  EXPECT_EQ(gpen::expected_gpen_shapes(config).size(), fixture_state().size());
  EXPECT_NO_THROW(gpen::check_gpen_state_dict(fixture_state(), config));
}

TEST(GpenConfig, ReleasedArchitecturesRoundTrip) {
  struct Case {
    const char* name;
    int size;
    double narrow, channel_multiplier;
  };
  for (const Case& c : {Case{"gpen-256", 256, 0.5, 1.0}, Case{"gpen-512", 512, 1.0, 2.0},
                        Case{"gpen-1024", 1024, 1.0, 2.0}, Case{"gpen-2048", 2048, 1.0, 2.0}}) {
    SCOPED_TRACE(c.name);
    const auto config = gpen::gpen_architecture(c.name);
    const auto inferred = gpen::infer_gpen_config(shapes_only(config));
    EXPECT_EQ(inferred.size, c.size);
    EXPECT_EQ(inferred.style_dim, 512);
    EXPECT_EQ(inferred.n_mlp, 8);
    EXPECT_EQ(inferred.channels, config.channels);
    EXPECT_DOUBLE_EQ(inferred.narrow(), c.narrow);
    EXPECT_DOUBLE_EQ(inferred.channel_multiplier(), c.channel_multiplier);
  }
  // GPEN-BFR-512.pth holds about 71 million parameters.
  const auto shapes = gpen::expected_gpen_shapes(gpen::gpen_architecture("gpen-512"));
  std::int64_t total = 0;
  for (const auto& [key, shape] : shapes) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    total += n;
  }
  EXPECT_NEAR(static_cast<double>(total), 71.0e6, 1.0e6);
}

TEST(GpenConfig, RejectsSomethingElse) {
  gpen::TensorMap state;
  state["conv.weight"] = torch::zeros({3, 3});
  EXPECT_THROW(gpen::infer_gpen_config(state), gpen::ModelError);
}

TEST(GpenGenerator, StrictLoadingNamesMissingKeys) {
  auto state = fixture_state();
  state.erase("generator.convs.3.noise.weight");
  try {
    gpen::GpenGenerator g(state, torch::kCPU, gpen::Precision::Fp32);
    FAIL() << "a missing key was accepted";
  } catch (const gpen::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("missing key 'generator.convs.3.noise.weight'"),
              std::string::npos)
        << e.what();
  }
}

TEST(GpenGenerator, StrictLoadingNamesBothShapes) {
  auto state = fixture_state();
  state["generator.to_rgbs.1.bias"] = torch::zeros({1, 4, 1, 1});
  try {
    gpen::GpenGenerator g(state, torch::kCPU, gpen::Precision::Fp32);
    FAIL() << "a mis-shaped key was accepted";
  } catch (const gpen::ModelError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'generator.to_rgbs.1.bias' has shape [1, 4, 1, 1], expected [1, 3, 1, 1]"),
              std::string::npos)
        << message;
  }
}

TEST(GpenGenerator, StrictLoadingNamesUnexpectedKeys) {
  auto state = fixture_state();
  state["generator.extra.weight"] = torch::zeros({2});
  try {
    gpen::GpenGenerator g(state, torch::kCPU, gpen::Precision::Fp32);
    FAIL() << "an unexpected key was accepted";
  } catch (const gpen::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected key 'generator.extra.weight'"), std::string::npos)
        << e.what();
  }
}

TEST(GpenGenerator, MatchesTheReferenceOutput) {
  const auto& tensors = fixture_tensors();
  const auto input = tensors.at("input");
  const auto expected = tensors.at("output");
  ASSERT_EQ(input.sizes(), torch::IntArrayRef({2, 3, 64, 64}));
  const auto output = fixture_generator().forward(input);
  ASSERT_EQ(output.sizes(), expected.sizes());
  const double diff = max_abs_diff(output, expected);
  RecordProperty("max_abs_diff", std::to_string(diff));
  std::printf("max |ours - reference| = %.3g\n", diff);
  EXPECT_LE(diff, 1e-4);
  // One face at a time, as the element runs on the CPU and the reference
  // runs: the weight-side modulation of single faces.
  for (int i = 0; i < 2; ++i) {
    const auto single = fixture_generator().forward(input.slice(0, i, i + 1));
    EXPECT_LE(max_abs_diff(single, expected.slice(0, i, i + 1)), 1e-4) << "face " << i;
  }
}

TEST(GpenGenerator, BatchedEqualsOneAtATime) {
  const auto generator = fixture_generator();
  const auto input = fixture_tensors().at("input");
  // Four faces: the two fixtures and their mirror images.
  const auto batch = torch::cat({input, input.flip({3})}, 0);
  const auto batched = generator.forward(batch);
  for (int i = 0; i < 4; ++i) {
    const auto single = generator.forward(batch.slice(0, i, i + 1));
    EXPECT_LE(max_abs_diff(single, batched.slice(0, i, i + 1)), 1e-5) << "face " << i;
  }
}

TEST(GpenGenerator, AllCheckpointFormsGiveTheSameOutput) {
  const auto input = fixture_tensors().at("input");
  const auto reference = fixture_generator().forward(input);
  for (const char* name : {"gpen-64-legacy.pth", "gpen-64-nested.pth"}) {
    const gpen::GpenGenerator g(gpen::load_checkpoint(kDir + name), torch::kCPU,
                                gpen::Precision::Fp32);
    EXPECT_TRUE(torch::equal(g.forward(input), reference)) << name;
  }
}

TEST(GpenGenerator, RandomReleasedShapesRun) {
  // The 256 layout end to end (channel_multiplier 1, narrow 0.5), batch of 2.
  const auto config = gpen::gpen_architecture("gpen-256");
  const gpen::GpenGenerator g(gpen::random_gpen_state_dict(config, 1), torch::kCPU,
                              gpen::Precision::Fp32);
  const auto out = g.forward(torch::rand({2, 3, 256, 256}) * 2 - 1);
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({2, 3, 256, 256}));
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  EXPECT_GT(out.std().item<double>(), 0.0);
}

}  // namespace
