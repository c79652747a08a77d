// Face parsing: ParseNet's strict loading and the parity of its logits, its
// 0/255 mask and the paste mask made from it with the reference fixtures
// (parsenet-128: ParseNet(128, 128, 32, 8, 19, bn, LeakyReLU, ch_range [8,
// 32]), seeded random weights).
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "checkpoint/checkpoint.h"
#include "faces/paste_back.h"
#include "parsing/face_parser.h"
#include "parsing/parse_net.h"
#include "runtime/error.h"
#include "tensor_closeness.h"

namespace {

const std::string kDir = std::string(GPEN_TEST_DATA_DIR) + "/parsenet-128/";
const std::string kModel = kDir + "parsenet-128.pth";

const gpen::TensorMap& fixture_state() {
  static const gpen::TensorMap state = gpen::load_checkpoint(kModel);
  return state;
}

const torch::Tensor& fixture(const std::string& name) {
  static const gpen::TensorMap tensors = gpen::load_checkpoint(kDir + "parsenet-128_tensors.pt");
  return tensors.at(name);
}

const gpen::FaceParser& fixture_parser() {
  static const gpen::FaceParser parser(fixture_state(), torch::kCPU);
  return parser;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kCPU, torch::kDouble) - b.to(torch::kCPU, torch::kDouble))
      .abs()
      .max()
      .item<double>();
}

// The fixture PNG i as RGB float [1, 3, H, W] in [0, 255].
torch::Tensor fixture_face(int i) {
  const cv::Mat bgr = cv::imread(kDir + "parsenet-128_in" + std::to_string(i) + ".png",
                                 cv::IMREAD_COLOR);
  EXPECT_FALSE(bgr.empty());
  return torch::from_blob(bgr.data, {bgr.rows, bgr.cols, 3}, torch::kByte)
      .permute({2, 0, 1})
      .flip({0})
      .unsqueeze(0)
      .to(torch::kFloat);
}

torch::Tensor fixture_faces() { return torch::cat({fixture_face(0), fixture_face(1)}); }

torch::Tensor mask_png(int i) {
  const cv::Mat m = cv::imread(kDir + "parsenet-128_mask" + std::to_string(i) + ".png",
                               cv::IMREAD_GRAYSCALE);
  EXPECT_FALSE(m.empty());
  return torch::from_blob(m.data, {m.rows, m.cols}, torch::kByte).clone();
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
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

// --- Loading -----------------------------------------------------------------

TEST(ParseNetLoading, InfersTheFixturesHyperparameters) {
  const auto config = gpen::infer_parsenet_config(fixture_state());
  EXPECT_EQ(config.base_channels, 8);
  EXPECT_EQ(config.down_steps, 2);
  EXPECT_EQ(config.up_steps, 2);
  EXPECT_EQ(config.res_depth, 10);
  EXPECT_EQ(config.parsing_channels, 19);
  EXPECT_EQ(config.min_channels, 8);
  EXPECT_EQ(config.max_channels, 32);
  EXPECT_EQ(config.input_size(), 128);
  // 182 entries: the expected keys and a batch counter per BatchNorm.
  std::size_t counters = 0;
  for (const auto& entry : fixture_state()) counters += contains(entry.first, "num_batches_tracked");
  EXPECT_EQ(gpen::expected_parsenet_shapes(config).size() + counters, fixture_state().size());
  EXPECT_EQ(fixture_parser().parse_size(), 128);
}

TEST(ParseNetLoading, TheReleasedLayout) {
  // ParseNet(512, 512, 32, 64, 19, bn, LeakyReLU, ch_range=[32, 256]).
  gpen::ParseNetConfig released;
  released.base_channels = 64;
  released.down_steps = released.up_steps = 4;
  released.res_depth = 10;
  released.parsing_channels = 19;
  released.min_channels = 32;
  released.max_channels = 256;
  gpen::TensorMap state;
  for (const auto& [key, shape] : gpen::expected_parsenet_shapes(released))
    state[key] = torch::zeros(shape);
  const auto inferred = gpen::infer_parsenet_config(state);
  EXPECT_EQ(inferred.input_size(), 512);
  EXPECT_EQ(inferred.max_channels, 256);
  EXPECT_EQ(inferred.min_channels, 64);  // the narrowest width it has: the same network
  EXPECT_EQ(state.at("encoder.3.conv1.conv2d.weight").sizes(), torch::IntArrayRef({256, 256, 3, 3}));
  EXPECT_EQ(state.at("decoder.3.conv2.conv2d.weight").sizes(), torch::IntArrayRef({64, 64, 3, 3}));
  EXPECT_NO_THROW(gpen::check_parsenet_state_dict(state, inferred));
}

TEST(ParseNetLoading, MissingKeyIsNamed) {
  auto state = fixture_state();
  state.erase("body.4.conv2.norm.norm.running_var");
  const auto message = model_error_of([&] { gpen::ParseNet(state, torch::kCPU); });
  EXPECT_TRUE(contains(message, "'body.4.conv2.norm.norm.running_var'")) << message;
  EXPECT_TRUE(contains(message, "missing")) << message;
  EXPECT_TRUE(contains(message, "[32]")) << message;
}

TEST(ParseNetLoading, MisShapedKeyNamesBothShapes) {
  auto state = fixture_state();
  state["decoder.1.shortcut_func.conv2d.weight"] = torch::zeros({8, 15, 3, 3});
  const auto message = model_error_of([&] { gpen::ParseNet(state, torch::kCPU); });
  EXPECT_TRUE(contains(message, "'decoder.1.shortcut_func.conv2d.weight'")) << message;
  EXPECT_TRUE(contains(message, "[8, 15, 3, 3]")) << message;
  EXPECT_TRUE(contains(message, "[8, 16, 3, 3]")) << message;
}

TEST(ParseNetLoading, UnexpectedKeyIsNamed) {
  auto state = fixture_state();
  state["encoder.1.conv1.relu.func.weight"] = torch::zeros({16});  // a PReLU
  const auto message = model_error_of([&] { gpen::ParseNet(state, torch::kCPU); });
  EXPECT_TRUE(contains(message, "unexpected key 'encoder.1.conv1.relu.func.weight'")) << message;
}

TEST(ParseNetLoading, OtherModelsAndFilesAreNamed) {
  const auto gpen_model = std::string(GPEN_TEST_DATA_DIR) + "/gpen-64/gpen-64.pth";
  const auto message = model_error_of([&] { gpen::FaceParser(gpen_model, torch::kCPU); });
  EXPECT_TRUE(contains(message, gpen_model)) << message;
  EXPECT_TRUE(contains(message, "not a ParseNet")) << message;
  try {
    gpen::FaceParser(kDir + "no-such-file.pth", torch::kCPU);
    ADD_FAILURE() << "expected a CheckpointError";
  } catch (const gpen::CheckpointError& e) {
    EXPECT_TRUE(contains(e.what(), "no-such-file.pth")) << e.what();
  }
  // A truncated checkpoint.
  EXPECT_THROW(gpen::FaceParser(kDir + "parsenet-128_mask0.png", torch::kCPU),
               gpen::CheckpointError);
}

// --- Network and mask ------------------------------------------------------------

TEST(ParseNetParity, PngsAreTheFixtureInput) {
  const auto input = fixture_parser().network_input(fixture_faces());
  EXPECT_LT(max_abs_diff(input, fixture("input")), 1e-6);
}

// With random weights and no normalisation of its growth the fixture's
// logits reach 1.8e5, where one float step is 0.016: they are compared
// relative to their largest magnitude (1e-4 of it), the image head's too.
TEST(ParseNetParity, LogitsAndImageMatchTheReference) {
  const auto out = fixture_parser().net().forward(fixture("input"));
  ASSERT_EQ(out.logits.sizes(), fixture("logits").sizes());
  ASSERT_EQ(out.image.sizes(), fixture("parse_image").sizes());
  const double logits = relative_max_diff(fixture("logits"), out.logits);
  const double image = relative_max_diff(fixture("parse_image"), out.image);
  std::cout << "max diff relative to the largest magnitude: logits " << logits << " (of "
            << fixture("logits").abs().max().item<double>() << "), image " << image << "\n";
  EXPECT_LT(logits, 1e-4);
  EXPECT_LT(image, 1e-4);
}

TEST(ParseNetParity, BatchedIsOneAtATime) {
  const auto both = fixture_parser().net().forward(fixture("input")).logits;
  for (int i = 0; i < 2; ++i) {
    const auto one = fixture_parser().net().forward(fixture("input").slice(0, i, i + 1)).logits;
    EXPECT_LT(relative_max_diff(both[i], one[0]), 1e-6);
  }
}

TEST(ParseNetParity, MaskIsTheReferences) {
  const auto mask = gpen::parse_classes_to_mask(fixture("logits"));
  EXPECT_TRUE(torch::equal(mask, fixture("mask")));
  const auto ours = gpen::parse_classes_to_mask(fixture_parser().net().forward(fixture("input")).logits);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(torch::equal(ours[i], fixture("mask")[i])) << "face " << i;
    EXPECT_TRUE(torch::equal(ours[i], mask_png(i))) << "face " << i;
  }
  // Both values occur: the test sees the colour map at work.
  EXPECT_GT(ours.eq(0).sum().item<int>(), 0);
  EXPECT_GT(ours.eq(255).sum().item<int>(), 0);
}

TEST(ParseNetParity, PostprocessIsTheReferences) {
  const auto paste = gpen::postprocess_parse_mask(fixture("mask").to(torch::kFloat) / 255.0);
  const double diff = max_abs_diff(paste, fixture("paste_mask"));
  std::cout << "paste mask from the reference's mask: max abs diff " << diff << "\n";
  EXPECT_LT(diff, 1e-4);
}

TEST(ParseNetParity, PasteMasksFromThePngs) {
  const auto masks = fixture_parser().paste_masks(fixture_faces());
  ASSERT_EQ(masks.sizes(), torch::IntArrayRef({2, 128, 128}));
  const double diff = max_abs_diff(masks, fixture("paste_mask"));
  const double levels = max_abs_diff((masks * 255).round(), (fixture("paste_mask") * 255).round());
  std::cout << "paste masks: max abs diff " << diff << ", 8-bit " << levels << "\n";
  EXPECT_LT(diff, 1e-4);
  EXPECT_LE(levels, 1.0);
  // The border is clear: a face's mask never reaches the crop's edge.
  EXPECT_LT(masks.select(1, 0).max().item<float>(), 1e-3);
  EXPECT_LT(masks.select(2, 127).max().item<float>(), 1e-3);
}

TEST(ParseNetParity, OtherFaceSizesAreParsedAtTheParsersSize) {
  // A 64 px face is resized to 128 to be parsed, and its mask back to 64.
  const auto faces = fixture_faces();
  namespace F = torch::nn::functional;
  const auto small = F::interpolate(faces, F::InterpolateFuncOptions()
                                               .size(std::vector<std::int64_t>{64, 64})
                                               .mode(torch::kBilinear)
                                               .align_corners(false));
  const auto masks = fixture_parser().paste_masks(small);
  ASSERT_EQ(masks.sizes(), torch::IntArrayRef({2, 64, 64}));
  EXPECT_GE(masks.min().item<float>(), 0.f);
  EXPECT_LE(masks.max().item<float>(), 1.f + 1e-5f);
  // Near what the full-size mask resized to 64 is (the face lost detail).
  const auto reference = F::interpolate(fixture("paste_mask").unsqueeze(1),
                                        F::InterpolateFuncOptions()
                                            .size(std::vector<std::int64_t>{64, 64})
                                            .mode(torch::kBilinear)
                                            .align_corners(false))
                             .squeeze(1);
  EXPECT_LT((masks - reference).abs().mean().item<double>(), 0.05);
}

// --- Paste-back through the masks --------------------------------------------

TEST(ParseMaskPaste, PixelsOutsideEveryMaskAreUntouched) {
  torch::manual_seed(3);
  const auto frame = torch::randint(0, 256, {3, 300, 420}, torch::kByte);
  const auto faces = fixture_faces();
  // Two faces: one at scale 1, one rotated and enlarged, overlapping it.
  gpen::Affine a, b;
  a.m = {1.0, 0.0, -40.0, 0.0, 1.0, -30.0};
  const double c = 0.8 * std::cos(0.3), s = 0.8 * std::sin(0.3);
  b.m = {c, s, -150.0, -s, c, -60.0};
  gpen::PasteOptions options;
  options.masks = fixture_parser().paste_masks(faces);
  options.face_sizes = {120.f, 150.f};
  torch::Tensor combined;
  const auto pasted = gpen::paste_faces(frame, faces, {a, b}, options, &combined);
  const auto outside = combined.eq(0).unsqueeze(0).expand_as(frame);
  EXPECT_TRUE(torch::equal(pasted.masked_select(outside), frame.masked_select(outside)));
  EXPECT_GT(combined.gt(0).sum().item<int>(), 1000);
  EXPECT_GT(pasted.ne(frame).sum().item<int>(), 1000);
  // Not the rectangle's result.
  gpen::PasteOptions rectangle = options;
  rectangle.masks = torch::Tensor();
  torch::Tensor rectangle_mask;
  gpen::paste_faces(frame, faces, {a, b}, rectangle, &rectangle_mask);
  EXPECT_GT((rectangle_mask - combined).abs().max().item<float>(), 0.5f);
  // Masks of the wrong shape are refused.
  options.masks = options.masks.slice(0, 0, 1);
  EXPECT_THROW(gpen::paste_faces(frame, faces, {a, b}, options), gpen::Error);
}

}  // namespace
