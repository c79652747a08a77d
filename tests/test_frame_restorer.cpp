// FrameRestorer: detection, face batches gathered across frames, order, and
// paste-back, on the gpen-64 fixture model with the Haar-cascade detector.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "error.h"
#include "face_detector.h"
#include "face_enhancer.h"
#include "frame_restorer.h"

namespace {

const std::string kData = std::string(GPEN_TEST_DATA_DIR);
const std::string kModel = kData + "/gpen-64/gpen-64.pth";

torch::Tensor load_rgb(const std::string& name) {
  cv::Mat bgr = cv::imread(kData + "/images/" + name, cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot read " + name);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).permute({2, 0, 1}).clone();
}

torch::Tensor blank(int height, int width) { return torch::full({3, height, width}, 128, torch::kUInt8); }

struct Fixture {
  gpen::FaceEnhancer enhancer{kModel, gpen::DeviceRequest::parse("cpu"), gpen::Precision::Fp32};
  std::unique_ptr<gpen::FaceDetector> detector =
      gpen::make_face_detector(gpen::DetectorOptions{}, torch::kCPU);
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

std::vector<gpen::RestoredFrame> pop_all(gpen::FrameRestorer& restorer) {
  std::vector<gpen::RestoredFrame> frames;
  while (auto frame = restorer.pop()) frames.push_back(std::move(*frame));
  return frames;
}

TEST(FrameRestorer, AutoDetectorWithoutModelIsTheCascade) {
  EXPECT_EQ(fixture().detector->describe(), "Haar cascade (CPU)");
  gpen::DetectorOptions retina;
  retina.kind = gpen::DetectorKind::RetinaFace;
  EXPECT_THROW(gpen::make_face_detector(retina, torch::kCPU), gpen::Error);
}

TEST(FrameRestorer, RestoresTheFaceAndNothingElse) {
  gpen::FrameRestorer restorer(fixture().enhancer, fixture().detector.get(), 1);
  const auto frame = load_rgb("astronaut.png");
  restorer.push(7, frame);
  EXPECT_EQ(restorer.run({}, false), 1u);  // a full batch of one: no drain needed
  auto done = restorer.pop();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->id, 7u);
  ASSERT_EQ(done->faces.size(), 1u);
  ASSERT_TRUE(done->rgb.defined());
  const auto changed = (done->rgb != frame).any(0);
  EXPECT_GT(changed.sum().item<int>(), 2000);
  // Every changed pixel lies near the face: within twice the box's size of
  // its centre (GPEN's crop reaches about that far around the face).
  const auto& f = done->faces[0];
  const auto ys = torch::arange(frame.size(1)).view({-1, 1}).to(torch::kFloat);
  const auto xs = torch::arange(frame.size(2)).view({1, -1}).to(torch::kFloat);
  const float cx = (f.x1 + f.x2) / 2, cy = (f.y1 + f.y2) / 2, reach = 2 * f.width();
  const auto far = ((xs - cx).abs() > reach) | ((ys - cy).abs() > reach);
  EXPECT_EQ((changed & far).sum().item<int>(), 0);
  EXPECT_FALSE(restorer.pop());
  EXPECT_EQ(restorer.size(), 0u);
}

TEST(FrameRestorer, FacesOfManyFramesShareBatchesAndFramesKeepTheirOrder) {
  gpen::FrameRestorer restorer(fixture().enhancer, fixture().detector.get(), 4);
  const auto face = load_rgb("astronaut.png");
  const auto empty = blank(120, 160);
  // Faces 1, 0, 1, 1 | 0, 1, 1: the first four frames fill the frame limit
  // and their three faces go through the network together; the rest drain
  // as one batch of two.
  const std::vector<torch::Tensor> frames = {face, empty, face, face, empty, face, face};
  std::size_t ran = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    restorer.push(i, frames[i]);
    ran += restorer.run({}, false);
  }
  EXPECT_EQ(ran, 3u);
  EXPECT_EQ(restorer.batches_run(), 1u);
  EXPECT_EQ(restorer.run({}, true), 2u);
  EXPECT_EQ(restorer.batches_run(), 2u);
  const auto done = pop_all(restorer);
  ASSERT_EQ(done.size(), frames.size());
  for (std::size_t i = 0; i < done.size(); ++i) {
    EXPECT_EQ(done[i].id, i);
    const bool has_face = frames[i].size(1) == face.size(1);
    EXPECT_EQ(done[i].faces.size(), has_face ? 1u : 0u) << "frame " << i;
    EXPECT_EQ(done[i].rgb.defined(), has_face) << "frame " << i;
  }
  // The same face in different batches comes out the same.
  EXPECT_TRUE(torch::equal(done[0].rgb, done[6].rgb));
}

TEST(FrameRestorer, RareFacesDoNotHoldFramesWithoutBound) {
  // A face, then frames with nobody (a surveillance camera at night): the
  // face's batch of three never fills, yet no more than three frames wait.
  gpen::FrameRestorer restorer(fixture().enhancer, fixture().detector.get(), 3);
  restorer.push(0, load_rgb("astronaut.png"));
  std::size_t popped = 0;
  for (std::uint64_t i = 1; i < 10; ++i) {
    restorer.push(i, blank(64, 64));
    restorer.run({}, false);
    while (auto done = restorer.pop()) EXPECT_EQ(done->id, popped++);
    EXPECT_LT(restorer.size(), 3u) << "after frame " << i;
  }
  EXPECT_GE(popped, 8u);
  EXPECT_EQ(restorer.batches_run(), 1u);
}

TEST(FrameRestorer, ManyFacesInOneFrameGoThroughSeveralBatches) {
  gpen::FrameRestorer restorer(fixture().enhancer, fixture().detector.get(), 4);
  restorer.push(0, load_rgb("solvay_1927.png"));
  // One frame cannot tell it has four faces before it is looked at: it
  // waits for three more frames, or a drain.
  EXPECT_EQ(restorer.run({}, false), 0u);
  EXPECT_FALSE(restorer.pop());
  const std::size_t ran = restorer.run({}, true);
  const auto done = pop_all(restorer);
  ASSERT_EQ(done.size(), 1u);
  const std::size_t faces = done[0].faces.size();
  EXPECT_GE(faces, 10u);
  EXPECT_EQ(ran, faces);
  EXPECT_EQ(restorer.batches_run(), (faces + 3) / 4);
}

TEST(FrameRestorer, GivenFacesAreUsedAndAnEmptyListMeansNone) {
  gpen::FrameRestorer restorer(fixture().enhancer, fixture().detector.get(), 1);
  const auto frame = load_rgb("astronaut.png");
  // An upstream detector that saw nobody: the frame is left alone.
  restorer.push(0, frame, std::vector<gpen::FaceDetection>{});
  // One that saw a face where the cascade sees none (a box on the flag).
  gpen::FaceDetection box;
  box.x1 = 10, box.y1 = 200, box.x2 = 90, box.y2 = 280;
  restorer.push(1, frame, std::vector<gpen::FaceDetection>{box});
  restorer.run({}, true);
  const auto done = pop_all(restorer);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_TRUE(done[0].faces.empty());
  EXPECT_FALSE(done[0].rgb.defined());
  ASSERT_EQ(done[1].faces.size(), 1u);
  EXPECT_NEAR(done[1].faces[0].x1, 10.f, 1e-4);
  ASSERT_TRUE(done[1].rgb.defined());
  const auto changed = (done[1].rgb != frame).any(0);
  EXPECT_GT(changed.slice(0, 220, 260).slice(1, 30, 70).sum().item<int>(), 100);
  EXPECT_EQ(changed.slice(0, 0, 100).sum().item<int>(), 0);  // far above the box
}

TEST(FrameRestorer, MaxFacesKeepsTheLargest) {
  gpen::FrameRestorer restorer(fixture().enhancer, fixture().detector.get(), 8);
  gpen::FaceDetection small, large;
  small.x1 = 10, small.y1 = 10, small.x2 = 40, small.y2 = 40;
  large.x1 = 100, large.y1 = 100, large.x2 = 200, large.y2 = 200;
  restorer.push(0, blank(300, 300), std::vector<gpen::FaceDetection>{small, large});
  gpen::RestoreOptions options;
  options.max_faces = 1;
  restorer.run(options, true);
  const auto done = restorer.pop();
  ASSERT_TRUE(done);
  ASSERT_EQ(done->faces.size(), 1u);
  EXPECT_EQ(done->faces[0].x1, 100.f);
}

TEST(FrameRestorer, BoxesOutsideTheFrameAreClippedOrDropped) {
  gpen::FrameRestorer restorer(fixture().enhancer, fixture().detector.get(), 2);
  gpen::FaceDetection outside, partly;
  outside.x1 = 500, outside.y1 = 500, outside.x2 = 600, outside.y2 = 600;
  partly.x1 = -40, partly.y1 = -40, partly.x2 = 60, partly.y2 = 60;
  restorer.push(0, blank(100, 100), std::vector<gpen::FaceDetection>{outside, partly});
  restorer.run({}, true);
  const auto done = restorer.pop();
  ASSERT_TRUE(done);
  ASSERT_EQ(done->faces.size(), 1u);
  EXPECT_EQ(done->faces[0].x1, 0.f);
  EXPECT_EQ(done->faces[0].x2, 60.f);
}

TEST(FrameRestorer, FacesThatCannotBeAlignedAreSkipped) {
  gpen::FrameRestorer restorer(fixture().enhancer, fixture().detector.get(), 2);
  gpen::FaceDetection collapsed, huge, fine;
  collapsed.x1 = 10, collapsed.y1 = 10, collapsed.x2 = 50, collapsed.y2 = 50;
  collapsed.has_landmarks = true;
  for (auto& p : collapsed.landmarks) p = {30.f, 30.f};
  huge = collapsed;
  const float far[5][2] = {{1e30f, -1e30f}, {1e30f, 1e30f}, {0, 0}, {-1e30f, 1e30f}, {3, 3}};
  for (int i = 0; i < 5; ++i) huge.landmarks[i] = {far[i][0], far[i][1]};
  fine.x1 = 20, fine.y1 = 20, fine.x2 = 80, fine.y2 = 80;
  restorer.push(0, blank(100, 100), std::vector<gpen::FaceDetection>{collapsed, huge, fine});
  restorer.run({}, true);
  const auto done = restorer.pop();
  ASSERT_TRUE(done);
  ASSERT_EQ(done->faces.size(), 1u);
  EXPECT_EQ(done->faces[0].x1, 20.f);
}

TEST(FrameRestorer, StrengthZeroLeavesFramesAndClearDropsEverything) {
  gpen::FrameRestorer restorer(fixture().enhancer, fixture().detector.get(), 1);
  gpen::RestoreOptions keep;
  keep.strength = 0.f;
  restorer.push(0, load_rgb("astronaut.png"));
  restorer.run(keep, true);
  auto done = restorer.pop();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->faces.size(), 1u);
  EXPECT_FALSE(done->rgb.defined());
  restorer.push(1, blank(10, 10));
  restorer.push(2, blank(10, 10));
  EXPECT_EQ(restorer.size(), 2u);
  restorer.clear();
  EXPECT_EQ(restorer.size(), 0u);
  EXPECT_FALSE(restorer.pop());
}

TEST(FrameRestorer, DenoiseAndSharpenChangeTheResult) {
  const auto frame = load_rgb("astronaut.png");
  auto restore = [&](const gpen::RestoreOptions& options) {
    gpen::FrameRestorer restorer(fixture().enhancer, fixture().detector.get(), 1);
    restorer.push(0, frame);
    restorer.run(options, true);
    return restorer.pop()->rgb;
  };
  const auto plain = restore({});
  gpen::RestoreOptions denoised, sharpened;
  denoised.denoise = 1.f;
  sharpened.sharpen = 1.f;
  EXPECT_FALSE(torch::equal(plain, restore(denoised)));
  EXPECT_FALSE(torch::equal(plain, restore(sharpened)));
  EXPECT_TRUE(torch::equal(plain, restore({})));
}

}  // namespace
