// RetinaFace: strict loading, numerical parity of the network heads and of
// the post-processing with the reference fixtures (mobilenet0.25, seeded
// random weights), batching, the resize path of detect(), and the ResNet50
// variant's layout.
#include <gtest/gtest.h>

#include <ATen/Context.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "checkpoint/checkpoint.h"
#include "faces/retinaface.h"
#include "faces/retinaface_postprocess.h"
#include "runtime/error.h"

namespace {

const std::string kDir = std::string(GPEN_TEST_DATA_DIR) + "/retinaface-mnet/";
const std::string kModel = kDir + "retinaface-mnet.pth";

const gpen::TensorMap& fixture_state() {
  static const gpen::TensorMap state = gpen::load_checkpoint(kModel);
  return state;
}

const gpen::TensorMap& fixture_tensors() {
  static const gpen::TensorMap tensors = gpen::load_checkpoint(kDir + "retinaface-mnet_tensors.pt");
  return tensors;
}

const torch::Tensor& fixture(const std::string& name) { return fixture_tensors().at(name); }

const gpen::RetinaFace& fixture_model() {
  static const gpen::RetinaFace model(fixture_state(), torch::kCPU);
  return model;
}

float fixture_threshold() { return fixture("threshold").item<float>(); }

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.numel() == 0 && b.numel() == 0) return 0.0;
  return (a.to(torch::kCPU, torch::kFloat) - b.to(torch::kCPU, torch::kFloat))
      .abs()
      .max()
      .item<double>();
}

// The fixture PNG as OpenCV reads it (BGR), [1, 3, H, W] uint8.
torch::Tensor fixture_bgr8() {
  const cv::Mat bgr = cv::imread(kDir + "retinaface-mnet_in.png", cv::IMREAD_COLOR);
  EXPECT_FALSE(bgr.empty());
  return torch::from_blob(bgr.data, {bgr.rows, bgr.cols, 3}, torch::kByte)
      .permute({2, 0, 1})
      .unsqueeze(0)
      .clone();
}

torch::Tensor fixture_rgb8() { return fixture_bgr8().flip({1}).contiguous(); }

// FaceDetections -> [K, 5] dets and [K, 10] landmarks, the fixture's layout.
std::pair<torch::Tensor, torch::Tensor> as_tensors(const std::vector<gpen::FaceDetection>& faces) {
  auto dets = torch::zeros({static_cast<std::int64_t>(faces.size()), 5});
  auto points = torch::zeros({static_cast<std::int64_t>(faces.size()), 10});
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const auto& f = faces[i];
    EXPECT_TRUE(f.has_landmarks);
    const auto row = static_cast<std::int64_t>(i);
    dets[row] = torch::tensor({f.x1, f.y1, f.x2, f.y2, f.score});
    for (std::size_t k = 0; k < 5; ++k) {
      points[row][2 * k] = f.landmarks[k].x;
      points[row][2 * k + 1] = f.landmarks[k].y;
    }
  }
  return {dets, points};
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

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A state_dict of the given layout with random values of sensible scale:
// weights ~ N(0, 1/fan_in), positive running variances.
gpen::TensorMap random_state(gpen::RetinaFaceBackbone backbone) {
  torch::manual_seed(0);
  gpen::TensorMap state;
  for (const auto& [key, shape] : gpen::expected_retinaface_shapes(backbone)) {
    torch::Tensor t;
    if (shape.size() == 4) {
      t = torch::randn(shape) / std::sqrt(static_cast<double>(shape[1] * shape[2] * shape[3]));
    } else if (contains(key, "running_var")) {
      t = torch::rand(shape) + 0.5;
    } else if (contains(key, "running_mean") || contains(key, "bias")) {
      t = torch::randn(shape) * 0.1;
    } else {
      t = torch::rand(shape) + 0.5;  // BatchNorm gamma
    }
    state[key] = t;
  }
  return state;
}

// --- Loading -----------------------------------------------------------------

TEST(RetinaFaceLoading, FixtureIsMobileNetAndStrictlyValid) {
  const auto& state = fixture_state();
  EXPECT_EQ(gpen::infer_retinaface_backbone(state), gpen::RetinaFaceBackbone::MobileNet025);
  const auto expected = gpen::expected_retinaface_shapes(gpen::RetinaFaceBackbone::MobileNet025);
  std::size_t counters = 0;
  for (const auto& entry : state) counters += contains(entry.first, "num_batches_tracked");
  EXPECT_EQ(counters, 47u);
  EXPECT_EQ(expected.size() + counters, state.size());
  EXPECT_NO_THROW(gpen::check_retinaface_state_dict(state, gpen::RetinaFaceBackbone::MobileNet025));
}

TEST(RetinaFaceLoading, MissingKeyIsNamed) {
  auto state = fixture_state();
  state.erase("ssh2.conv5X5_2.1.running_var");
  const auto message = model_error_of([&] { gpen::RetinaFace(state, torch::kCPU); });
  EXPECT_TRUE(contains(message, "'ssh2.conv5X5_2.1.running_var'")) << message;
  EXPECT_TRUE(contains(message, "missing")) << message;
  EXPECT_TRUE(contains(message, "[16]")) << message;
}

TEST(RetinaFaceLoading, MisShapedKeyNamesBothShapes) {
  auto state = fixture_state();
  state["fpn.output2.0.weight"] = torch::zeros({64, 120, 1, 1});
  const auto message = model_error_of([&] { gpen::RetinaFace(state, torch::kCPU); });
  EXPECT_TRUE(contains(message, "'fpn.output2.0.weight'")) << message;
  EXPECT_TRUE(contains(message, "[64, 120, 1, 1]")) << message;
  EXPECT_TRUE(contains(message, "[64, 128, 1, 1]")) << message;
}

TEST(RetinaFaceLoading, UnexpectedKeyIsNamed) {
  auto state = fixture_state();
  state["body.fc.weight"] = torch::zeros({1000, 256});
  const auto message = model_error_of([&] { gpen::RetinaFace(state, torch::kCPU); });
  EXPECT_TRUE(contains(message, "unexpected key 'body.fc.weight'")) << message;
  EXPECT_TRUE(contains(message, "[1000, 256]")) << message;
}

TEST(RetinaFaceLoading, BatchCountersAreOptional) {
  gpen::TensorMap state;
  for (const auto& [key, tensor] : fixture_state())
    if (!contains(key, "num_batches_tracked")) state[key] = tensor;
  EXPECT_NO_THROW(gpen::RetinaFace(state, torch::kCPU));
  // ... but only where a BatchNorm is.
  state["ClassHead.0.num_batches_tracked"] = torch::zeros({}, torch::kLong);
  const auto message = model_error_of([&] { gpen::RetinaFace(state, torch::kCPU); });
  EXPECT_TRUE(contains(message, "ClassHead.0.num_batches_tracked")) << message;
}

TEST(RetinaFaceLoading, NotARetinaFace) {
  gpen::TensorMap state{{"conv.weight", torch::zeros({1})}};
  const auto message = model_error_of([&] { gpen::RetinaFace(state, torch::kCPU); });
  EXPECT_TRUE(contains(message, "not a RetinaFace")) << message;
}

TEST(RetinaFaceLoading, LoadNamesTheFile) {
  const auto model = gpen::RetinaFace::load(kModel, torch::kCPU);
  EXPECT_EQ(model.backbone(), gpen::RetinaFaceBackbone::MobileNet025);
  const auto gpen_model = std::string(GPEN_TEST_DATA_DIR) + "/gpen-64/gpen-64.pth";
  const auto message = model_error_of([&] { gpen::RetinaFace::load(gpen_model, torch::kCPU); });
  EXPECT_TRUE(contains(message, gpen_model)) << message;
  EXPECT_THROW(gpen::RetinaFace::load(kDir + "no-such-file.pth", torch::kCPU),
               gpen::CheckpointError);
}

// --- Network -------------------------------------------------------------------

TEST(RetinaFaceNetwork, PngIsTheFixtureInput) {
  const auto input = fixture_bgr8().to(torch::kFloat) -
                     torch::tensor({104.f, 117.f, 123.f}).view({1, 3, 1, 1});
  EXPECT_TRUE(torch::equal(input, fixture("input")));
}

TEST(RetinaFaceNetwork, HeadsMatchReference) {
  const auto heads = fixture_model().forward(fixture("input"));
  ASSERT_EQ(heads.loc.sizes(), fixture("loc").sizes());
  ASSERT_EQ(heads.conf.sizes(), fixture("conf").sizes());
  ASSERT_EQ(heads.landms.sizes(), fixture("landms").sizes());
  const double loc = max_abs_diff(heads.loc, fixture("loc"));
  const double conf = max_abs_diff(heads.conf, fixture("conf"));
  const double landms = max_abs_diff(heads.landms, fixture("landms"));
  std::cout << "max abs diff: loc " << loc << ", conf " << conf << ", landms " << landms << "\n";
  EXPECT_LT(loc, 1e-4);
  EXPECT_LT(conf, 1e-4);
  EXPECT_LT(landms, 1e-4);
}

TEST(RetinaFaceNetwork, BatchedForwardEqualsSingle) {
  const auto& input = fixture("input");
  const auto single = fixture_model().forward(input);
  const auto batched = fixture_model().forward(torch::cat({input, input}, 0));
  ASSERT_EQ(batched.loc.size(0), 2);
  for (std::int64_t b = 0; b < 2; ++b) {
    EXPECT_LT(max_abs_diff(batched.loc[b], single.loc[0]), 1e-5);
    EXPECT_LT(max_abs_diff(batched.conf[b], single.conf[0]), 1e-5);
    EXPECT_LT(max_abs_diff(batched.landms[b], single.landms[0]), 1e-5);
  }
}

TEST(RetinaFaceNetwork, ResNet50LayoutRuns) {
  const auto shapes = gpen::expected_retinaface_shapes(gpen::RetinaFaceBackbone::ResNet50);
  // torchvision's resnet50 up to layer4 (IntermediateLayerGetter drops avgpool
  // and fc), then FPN, SSH and heads at width 256.
  EXPECT_EQ(shapes.at("body.conv1.weight"), (std::vector<std::int64_t>{64, 3, 7, 7}));
  EXPECT_EQ(shapes.at("body.layer2.0.downsample.0.weight"),
            (std::vector<std::int64_t>{512, 256, 1, 1}));
  EXPECT_EQ(shapes.at("body.layer4.2.conv3.weight"), (std::vector<std::int64_t>{2048, 512, 1, 1}));
  EXPECT_EQ(shapes.at("fpn.output3.0.weight"), (std::vector<std::int64_t>{256, 2048, 1, 1}));
  EXPECT_EQ(shapes.at("ssh1.conv3X3.0.weight"), (std::vector<std::int64_t>{128, 256, 3, 3}));
  EXPECT_EQ(shapes.at("LandmarkHead.2.conv1x1.weight"),
            (std::vector<std::int64_t>{20, 256, 1, 1}));
  EXPECT_EQ(shapes.count("body.layer1.1.downsample.0.weight"), 0u);
  std::size_t body = 0;
  for (const auto& entry : shapes) body += entry.first.rfind("body.", 0) == 0;
  EXPECT_EQ(body, 265u);  // 53 convolutions and their BatchNorms

  const auto state = random_state(gpen::RetinaFaceBackbone::ResNet50);
  EXPECT_EQ(gpen::infer_retinaface_backbone(state), gpen::RetinaFaceBackbone::ResNet50);
  const gpen::RetinaFace model(state, torch::kCPU);
  EXPECT_EQ(model.backbone(), gpen::RetinaFaceBackbone::ResNet50);
  torch::manual_seed(1);
  const auto input = torch::randn({1, 3, 128, 160}) * 50;
  const auto heads = model.forward(input);
  const auto n = gpen::retinaface_prior_count(128, 160);
  EXPECT_EQ(n, (16 * 20 + 8 * 10 + 4 * 5) * 2);
  EXPECT_EQ(heads.loc.sizes(), (std::vector<std::int64_t>{1, n, 4}));
  EXPECT_EQ(heads.conf.sizes(), (std::vector<std::int64_t>{1, n, 2}));
  EXPECT_EQ(heads.landms.sizes(), (std::vector<std::int64_t>{1, n, 10}));
  EXPECT_TRUE(torch::isfinite(heads.loc).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(heads.landms).all().item<bool>());
  EXPECT_LT(max_abs_diff(heads.conf.sum(-1), torch::ones({1, n})), 1e-5);

  // Strictness applies to this layout too.
  auto broken = state;
  broken.erase("body.layer3.5.bn2.weight");
  const auto message = model_error_of([&] { gpen::RetinaFace(broken, torch::kCPU); });
  EXPECT_TRUE(contains(message, "'body.layer3.5.bn2.weight'")) << message;
  EXPECT_TRUE(contains(message, "ResNet50")) << message;
}

// --- Post-processing -------------------------------------------------------------

TEST(RetinaFacePostprocess, PriorsEqualReference) {
  const auto priors = gpen::retinaface_priors(138, 320);
  EXPECT_EQ(gpen::retinaface_prior_count(138, 320), 1900);
  ASSERT_EQ(priors.sizes(), fixture("priors").sizes());
  EXPECT_TRUE(torch::equal(priors, fixture("priors")));
}

TEST(RetinaFacePostprocess, DetectionsFromReferenceHeads) {
  gpen::RetinaFacePostprocessOptions options;
  options.confidence_threshold = fixture_threshold();
  const auto dets = gpen::postprocess_retinaface(fixture("loc")[0], fixture("conf")[0],
                                                 fixture("landms")[0], 138, 320, options);
  ASSERT_EQ(dets.dets.sizes(), fixture("dets").sizes());
  ASSERT_EQ(dets.landmarks.sizes(), fixture("landmarks").sizes());
  const double box = max_abs_diff(dets.dets, fixture("dets"));
  const double points = max_abs_diff(dets.landmarks, fixture("landmarks"));
  std::cout << "from reference heads: dets " << box << ", landmarks " << points << "\n";
  EXPECT_LT(box, 1e-4);
  EXPECT_LT(points, 1e-4);
}

TEST(RetinaFacePostprocess, DetectionsFromOurHeads) {
  const auto heads = fixture_model().forward(fixture("input"));
  gpen::RetinaFacePostprocessOptions options;
  options.confidence_threshold = fixture_threshold();
  const auto dets = gpen::postprocess_retinaface(heads.loc[0], heads.conf[0], heads.landms[0],
                                                 138, 320, options);
  ASSERT_EQ(dets.dets.sizes(), fixture("dets").sizes());
  const double box = max_abs_diff(dets.dets, fixture("dets"));
  const double points = max_abs_diff(dets.landmarks, fixture("landmarks"));
  std::cout << "from our heads: dets " << box << ", landmarks " << points << "\n";
  EXPECT_LT(box, 1e-3);
  EXPECT_LT(points, 1e-3);
}

TEST(RetinaFacePostprocess, NothingAboveThreshold) {
  gpen::RetinaFacePostprocessOptions options;
  options.confidence_threshold = 1.0f;
  const auto dets = gpen::postprocess_retinaface(fixture("loc")[0], fixture("conf")[0],
                                                 fixture("landms")[0], 138, 320, options);
  EXPECT_EQ(dets.size(), 0);
  EXPECT_EQ(dets.landmarks.size(0), 0);
  EXPECT_TRUE(gpen::to_face_detections(dets).empty());
}

TEST(RetinaFacePostprocess, NmsCountsInclusivePixels) {
  // Two 10x10-pixel boxes (x2 - x1 = 9) side by side overlapping by 4 columns:
  // IoU is 40 / 160 = 0.25 with the +1 convention and 27 / 135 = 0.2 without.
  const auto boxes = torch::tensor({0.f, 0.f, 9.f, 9.f, 6.f, 0.f, 15.f, 9.f}).view({2, 4});
  EXPECT_EQ(gpen::retinaface_nms(boxes, 0.25f).size(), 2u);  // kept when IoU <= threshold
  EXPECT_EQ(gpen::retinaface_nms(boxes, 0.24f).size(), 1u);
  EXPECT_EQ(gpen::retinaface_nms(boxes, 0.21f), (std::vector<std::int64_t>{0}));
  // A suppressed box suppresses nothing: 0 removes 1, so 2 (overlapping 1 only) stays.
  const auto chain =
      torch::tensor({0.f, 0.f, 9.f, 9.f, 3.f, 0.f, 12.f, 9.f, 9.f, 0.f, 18.f, 9.f}).view({3, 4});
  EXPECT_EQ(gpen::retinaface_nms(chain, 0.4f), (std::vector<std::int64_t>{0, 2}));
}

// --- detect() --------------------------------------------------------------------

TEST(RetinaFaceDetect, MatchesReference) {
  const auto faces = fixture_model().detect(fixture_rgb8(), fixture_threshold());
  ASSERT_EQ(faces.size(), 1u);
  ASSERT_EQ(faces[0].size(), 6u);
  const auto [dets, points] = as_tensors(faces[0]);
  const double box = max_abs_diff(dets, fixture("dets"));
  const double landmark = max_abs_diff(points, fixture("landmarks"));
  std::cout << "detect(): dets " << box << ", landmarks " << landmark << "\n";
  EXPECT_LT(box, 1e-3);
  EXPECT_LT(landmark, 1e-3);
  for (std::size_t i = 1; i < faces[0].size(); ++i)
    EXPECT_GE(faces[0][i - 1].score, faces[0][i].score);
}

TEST(RetinaFaceDetect, BatchOfFramesDetectsEach) {
  const auto rgb = fixture_rgb8();
  const auto faces = fixture_model().detect(torch::cat({rgb, rgb}, 0), fixture_threshold());
  ASSERT_EQ(faces.size(), 2u);
  ASSERT_EQ(faces[1].size(), faces[0].size());
  for (std::size_t i = 0; i < faces[0].size(); ++i) {
    EXPECT_NEAR(faces[1][i].x1, faces[0][i].x1, 1e-3);
    EXPECT_NEAR(faces[1][i].score, faces[0][i].score, 1e-5);
  }
}

TEST(RetinaFaceDetect, LargeFramesAreResizedAndScaledBack) {
  // Each pixel doubled: halving it bilinearly gives the fixture image back
  // exactly, so the detections are the fixture's at twice the coordinates.
  const auto big = fixture_rgb8().repeat_interleave(2, 2).repeat_interleave(2, 3);
  ASSERT_EQ(big.size(3), 640);
  const auto faces = fixture_model().detect(big, fixture_threshold(), /*resize_limit=*/600,
                                            /*resize_target=*/320);
  ASSERT_EQ(faces.size(), 1u);
  ASSERT_EQ(faces[0].size(), 6u);
  auto [dets, points] = as_tensors(faces[0]);
  auto expected = fixture("dets").clone();
  expected.slice(1, 0, 4).mul_(2);
  EXPECT_LT(max_abs_diff(dets, expected), 2e-3);
  EXPECT_LT(max_abs_diff(points, fixture("landmarks") * 2), 2e-3);
}

TEST(RetinaFaceDetect, ResizeMatchesOpenCv) {
  torch::manual_seed(2);
  const auto image = (torch::rand({3, 347, 611}) * 255).contiguous();
  for (const double scale : {1000.0 / 1700.0, 0.5, 1000.0 / 1501.0, 1.37}) {
    SCOPED_TRACE(scale);
    const auto hwc = image.permute({1, 2, 0}).contiguous();
    const cv::Mat src(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_32FC3,
                      hwc.data_ptr<float>());
    cv::Mat dst;
    cv::resize(src, dst, cv::Size(), scale, scale, cv::INTER_LINEAR);
    const auto ours = gpen::resize_like_cv2(image.unsqueeze(0), scale)[0];
    ASSERT_EQ(ours.size(1), dst.rows);
    ASSERT_EQ(ours.size(2), dst.cols);
    const auto theirs =
        torch::from_blob(dst.data, {dst.rows, dst.cols, 3}, torch::kFloat).permute({2, 0, 1});
    // Both sides compute source coordinates in float32: at x ~ 600 that is
    // ~6e-5 of a pixel, which is up to ~0.015 of a level between neighbours
    // 255 levels apart. A wrong mapping would be off by whole levels.
    const auto diff = (ours - theirs).abs();
    EXPECT_LT(diff.max().item<double>(), 0.05);
    EXPECT_LT(diff.mean().item<double>(), 1e-3);
  }
}

// --- CUDA (skipped where this build or machine has none) -------------------------

// Full fp32 convolutions for the duration of a test: cuDNN may otherwise use
// TF32, whose 10-bit mantissa is far from the reference's CPU arithmetic.
class NoTf32 {
 public:
  NoTf32() : saved_(at::globalContext().allowTF32CuDNN()) {
    at::globalContext().setAllowTF32CuDNN(false);
  }
  ~NoTf32() { at::globalContext().setAllowTF32CuDNN(saved_); }
  NoTf32(const NoTf32&) = delete;
  NoTf32& operator=(const NoTf32&) = delete;

 private:
  bool saved_;
};

TEST(RetinaFaceCuda, MatchesReference) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA";
  const NoTf32 fp32;
  const gpen::RetinaFace model(fixture_state(), torch::Device(torch::kCUDA, 0));
  const auto heads = model.forward(fixture("input"));
  EXPECT_TRUE(heads.loc.is_cuda());
  const double loc = max_abs_diff(heads.loc, fixture("loc"));
  const double conf = max_abs_diff(heads.conf, fixture("conf"));
  const double landms = max_abs_diff(heads.landms, fixture("landms"));
  std::cout << "CUDA max abs diff: loc " << loc << ", conf " << conf << ", landms " << landms
            << "\n";
  EXPECT_LT(loc, 1e-4);
  EXPECT_LT(conf, 1e-4);
  EXPECT_LT(landms, 1e-4);

  const auto faces = model.detect(fixture_rgb8(), fixture_threshold());  // a CPU frame
  ASSERT_EQ(faces.size(), 1u);
  ASSERT_EQ(faces[0].size(), 6u);
  const auto [dets, points] = as_tensors(faces[0]);
  EXPECT_LT(max_abs_diff(dets, fixture("dets")), 1e-3);
  EXPECT_LT(max_abs_diff(points, fixture("landmarks")), 1e-3);
}

}  // namespace
