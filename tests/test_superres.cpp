// RealESRNet (RRDBNet): strict loading and parity with the reference
// fixtures (realesrnet-x2, realesrnet-x4: num_feat 8, num_block 2,
// num_grow_ch 8, seeded random weights), whole and in tiles.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "checkpoint/checkpoint.h"
#include "runtime/error.h"
#include "superres/real_esrnet.h"
#include "tensor_closeness.h"

namespace {

std::string dir_of(int scale) {
  return std::string(GPEN_TEST_DATA_DIR) + "/realesrnet-x" + std::to_string(scale) + "/";
}
std::string model_of(int scale) {
  return dir_of(scale) + "realesrnet-x" + std::to_string(scale) + ".pth";
}

const gpen::TensorMap& tensors(int scale) {
  static std::map<int, gpen::TensorMap> cache;
  auto& t = cache[scale];
  if (t.empty())
    t = gpen::load_checkpoint(dir_of(scale) + "realesrnet-x" + std::to_string(scale) + "_tensors.pt");
  return t;
}

const gpen::RealEsrNet& net(int scale) {
  static const gpen::RealEsrNet x2 = gpen::RealEsrNet::load(model_of(2), torch::kCPU);
  static const gpen::RealEsrNet x4 = gpen::RealEsrNet::load(model_of(4), torch::kCPU);
  return scale == 2 ? x2 : x4;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kCPU, torch::kDouble) - b.to(torch::kCPU, torch::kDouble)).abs().max().item<double>();
}

// [1, 3, H, W] uint8 BGR (as the reference's uint8 image, [H, W, 3] BGR).
torch::Tensor as_planar(const torch::Tensor& hwc) { return hwc.permute({2, 0, 1}).unsqueeze(0); }

torch::Tensor png(const std::string& path) {
  const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  EXPECT_FALSE(bgr.empty()) << path;
  return torch::from_blob(bgr.data, {bgr.rows, bgr.cols, 3}, torch::kByte).clone();
}

template <class F>
std::string model_error_of(F&& f) {
  try {
    f();
  } catch (const gpen::ModelError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ModelError";
  return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class RealEsrNetParity : public ::testing::TestWithParam<int> {};

TEST_P(RealEsrNetParity, InfersTheFixturesHyperparameters) {
  const auto& config = net(GetParam()).config();
  EXPECT_EQ(config.scale, GetParam());
  EXPECT_EQ(config.num_feat, 8);
  EXPECT_EQ(config.num_block, 2);
  EXPECT_EQ(config.num_grow_ch, 8);
  EXPECT_EQ(gpen::expected_rrdbnet_shapes(config).size(), 72u);
}

TEST_P(RealEsrNetParity, WholeAndTiledMatchTheReference) {
  const int s = GetParam();
  const auto& t = tensors(s);
  const auto input = t.at("input");
  const auto whole = net(s).upscale(input, 0);
  ASSERT_EQ(whole.sizes(), t.at("output").sizes());
  const int tile = t.count("tile_size") ? t.at("tile_size").item<int>() : 16;
  const int pad = t.count("tile_pad") ? t.at("tile_pad").item<int>() : 10;
  const auto tiled = net(s).upscale(input, tile, pad);
  const double d_whole = max_abs_diff(whole, t.at("output"));
  const double d_tiled = max_abs_diff(tiled, t.at("output_tiled"));
  std::cout << "x" << s << ": float max abs diff whole " << d_whole << ", tiled (" << tile << "/"
            << pad << ") " << d_tiled << "\n";
  EXPECT_LT(d_whole, 1e-4);
  EXPECT_LT(d_tiled, 1e-4);
  // The uint8 pictures, BGR as the reference writes them, to one level.
  const auto bgr = [](const torch::Tensor& out) {
    return gpen::super_resolution_to_uint8(out).flip({1});
  };
  const std::string prefix = dir_of(s) + "realesrnet-x" + std::to_string(s);
  EXPECT_LE(max_abs_diff(bgr(whole), as_planar(t.at("image"))), 1.0);
  EXPECT_LE(max_abs_diff(bgr(tiled), as_planar(t.at("image_tiled"))), 1.0);
  EXPECT_LE(max_abs_diff(bgr(whole), as_planar(png(prefix + "_out.png"))), 1.0);
  EXPECT_LE(max_abs_diff(bgr(tiled), as_planar(png(prefix + "_out_tiled.png"))), 1.0);
  // The PNG input is the tensor input.
  const auto in = as_planar(png(prefix + "_in.png")).flip({1}).to(torch::kFloat) / 255.0;
  EXPECT_LT(max_abs_diff(in, input), 1e-6);
  // Tiles differ from the whole (the pad is finite), but little.
  EXPECT_GT(max_abs_diff(whole, tiled), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Scales, RealEsrNetParity, ::testing::Values(2, 4));

TEST(RealEsrNet, OddSizesAndTilesSmallerThanThePad) {
  // x2 pads odd sides (reflect) and crops the output to 2x the input.
  const auto input = tensors(2).at("input").slice(2, 0, 29).slice(3, 0, 37);
  const auto whole = net(2).upscale(input, 0);
  EXPECT_EQ(whole.sizes(), torch::IntArrayRef({1, 3, 58, 74}));
  // Tiles of 6 px with the 10 px pad: each tile sees more context than it
  // keeps; all pixels are written.
  const auto tiled = net(2).upscale(input, 6, 10);
  EXPECT_EQ(tiled.sizes(), whole.sizes());
  EXPECT_LT(max_abs_diff(tiled, whole), 0.5 * whole.abs().max().item<double>());
  EXPECT_THROW(net(2).upscale(input, -1, 10), gpen::Error);
}

TEST(RealEsrNet, StrictLoadingNamesKeysAndFiles) {
  auto state = gpen::load_checkpoint(model_of(2));
  state.erase("body.1.rdb2.conv3.bias");
  auto message = model_error_of([&] { gpen::RealEsrNet(state, torch::kCPU); });
  EXPECT_TRUE(contains(message, "'body.1.rdb2.conv3.bias'")) << message;
  state = gpen::load_checkpoint(model_of(2));
  state["conv_hr.weight"] = torch::zeros({8, 9, 3, 3});
  message = model_error_of([&] { gpen::RealEsrNet(state, torch::kCPU); });
  EXPECT_TRUE(contains(message, "[8, 9, 3, 3]")) << message;
  state = gpen::load_checkpoint(model_of(2));
  state["extra.weight"] = torch::zeros({1});
  message = model_error_of([&] { gpen::RealEsrNet(state, torch::kCPU); });
  EXPECT_TRUE(contains(message, "unexpected key 'extra.weight'")) << message;
  const auto gpen_model = std::string(GPEN_TEST_DATA_DIR) + "/gpen-64/gpen-64.pth";
  message = model_error_of([&] { gpen::RealEsrNet::load(gpen_model, torch::kCPU); });
  EXPECT_TRUE(contains(message, gpen_model)) << message;
  EXPECT_THROW(gpen::RealEsrNet::load(dir_of(2) + "missing.pth", torch::kCPU), gpen::CheckpointError);
}

}  // namespace
