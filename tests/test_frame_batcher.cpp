// FrameBatcher: in full mode detection, face batches gathered across frames,
// order, and paste-back; in aligned mode batches of frames, a batch in
// flight, order by id; on the gpen-64 fixture model with the Haar-cascade
// detector.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <atomic>
#include <map>
#include <set>
#include <optional>

#include "face_enhancer.h"
#include "faces/detection_pool.h"
#include "faces/face_detector.h"
#include "frame_batcher.h"
#include "runtime/error.h"

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

struct RestoredFrame {
  gpen::FrameId id = 0;
  std::vector<gpen::FaceDetection> faces;
  torch::Tensor rgb;  // [3, H, W] as written; undefined when left alone
};

// A FrameBatcher over images the test owns ([3, H, W] uint8 tensors in,
// interleaved RGB for the batcher to read and write), popped as tensors.
class Restorer {
 public:
  Restorer(gpen::FaceEnhancer& enhancer, gpen::FaceDetector* detector, int batch_size,
           gpen::FaceMode mode = gpen::FaceMode::Full, int depth = 1)
      : batcher_(enhancer, detector, mode, batch_size, depth) {}

  void push(gpen::FrameId id, const torch::Tensor& rgb,
            std::optional<std::vector<gpen::FaceDetection>> faces = std::nullopt) {
    // A copy of its own: the test compares it with what it pushed.
    auto& image = images_[id] = rgb.permute({1, 2, 0}).clone(torch::MemoryFormat::Contiguous);
    gpen::ImageView view;
    view.data = image.data_ptr<std::uint8_t>();
    view.width = static_cast<int>(image.size(1));
    view.height = static_cast<int>(image.size(0));
    view.row_stride = view.width * 3;
    batcher_.push(id, view, std::move(faces));
  }
  std::size_t run(const gpen::RestoreOptions& options, bool drain) {
    return batcher_.advance(options, drain).faces;
  }
  std::optional<RestoredFrame> pop() {
    auto done = batcher_.pop();
    if (!done) return std::nullopt;
    RestoredFrame frame{done->id, std::move(done->faces), {}};
    const auto image = images_.at(done->id);
    images_.erase(done->id);
    if (done->changed) frame.rgb = image.permute({2, 0, 1}).contiguous();
    return frame;
  }
  std::size_t size() const { return batcher_.size(); }
  std::size_t in_flight() const { return batcher_.in_flight(); }
  std::size_t batches_run() const { return batcher_.batches_run(); }
  void clear() { batcher_.clear(); }
  void set_tracking(const gpen::TrackingOptions& tracking) { batcher_.set_tracking(tracking); }

 private:
  gpen::FrameBatcher batcher_;
  std::map<gpen::FrameId, torch::Tensor> images_;
};

torch::Tensor enhanced_alone(const torch::Tensor& rgb, float strength);

std::vector<RestoredFrame> pop_all(Restorer& restorer) {
  std::vector<RestoredFrame> frames;
  while (auto frame = restorer.pop()) frames.push_back(std::move(*frame));
  return frames;
}

TEST(FrameBatcher, AutoDetectorWithoutModelIsTheCascade) {
  EXPECT_EQ(fixture().detector->describe(), "Haar cascade (CPU)");
  gpen::DetectorOptions retina;
  retina.kind = gpen::DetectorKind::RetinaFace;
  EXPECT_THROW(gpen::make_face_detector(retina, torch::kCPU), gpen::Error);
}

TEST(FrameBatcher, RestoresTheFaceAndNothingElse) {
  Restorer restorer(fixture().enhancer, fixture().detector.get(), 1);
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

namespace {

// An I420 frame the test owns, made from RGB by the library's conversion.
struct I420Frame {
  torch::Tensor y, u, v;
  gpen::YuvView view;
};

I420Frame to_i420(const torch::Tensor& rgb) {
  const int h = static_cast<int>(rgb.size(1)), w = static_cast<int>(rgb.size(2));
  I420Frame f;
  f.y = torch::zeros({h, w}, torch::kUInt8);
  f.u = torch::zeros({(h + 1) / 2, (w + 1) / 2}, torch::kUInt8);
  f.v = torch::zeros_like(f.u);
  f.view.width = w, f.view.height = h;
  f.view.y = f.y.data_ptr<std::uint8_t>(), f.view.y_stride = w;
  f.view.u = f.u.data_ptr<std::uint8_t>(), f.view.u_stride = f.u.size(1);
  f.view.v = f.v.data_ptr<std::uint8_t>(), f.view.v_stride = f.v.size(1);
  f.view.matrix = {0.2126, 0.0722, false};  // BT.709, as caps give HD video
  gpen::write_yuv_region(gpen::yuv_region(gpen::upload_yuv(f.view, torch::kCPU), torch::Tensor(),
                                          rgb, f.view.matrix, 0, 0, w, h),
                         f.view);
  return f;
}

torch::Tensor rgb_of(const gpen::YuvView& view) {
  return gpen::yuv_to_rgb(gpen::upload_yuv(view, torch::kCPU), view.matrix);
}

// The planes of `frame` once `after` is written where it differs from `before`.
I420Frame written(const I420Frame& frame, const torch::Tensor& before, const torch::Tensor& after) {
  I420Frame out = frame;
  out.y = frame.y.clone(), out.u = frame.u.clone(), out.v = frame.v.clone();
  out.view.y = out.y.data_ptr<std::uint8_t>();
  out.view.u = out.u.data_ptr<std::uint8_t>();
  out.view.v = out.v.data_ptr<std::uint8_t>();
  gpen::write_yuv_region(gpen::yuv_region(gpen::upload_yuv(out.view, torch::kCPU), before, after,
                                          out.view.matrix, 0, 0, frame.view.width,
                                          frame.view.height),
                         out.view);
  return out;
}

}  // namespace

TEST(FrameBatcher, I420FramesAreRestoredInTheirPlanesWhereTheFacesChangedThem) {
  auto frame = to_i420(load_rgb("astronaut.png"));
  const auto seen = rgb_of(frame.view);  // the colours the batcher works on
  Restorer rgb_path(fixture().enhancer, fixture().detector.get(), 1);
  rgb_path.push(1, seen);
  rgb_path.run({}, true);
  const auto expected = rgb_path.pop();
  ASSERT_TRUE(expected && expected->rgb.defined());
  const auto planes = written(frame, seen, expected->rgb);

  gpen::FrameBatcher batcher(fixture().enhancer, fixture().detector.get(), gpen::FaceMode::Full, 1);
  const auto y0 = frame.y.clone();
  batcher.push(2, frame.view);
  batcher.advance({}, true);
  const auto done = batcher.pop();
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->changed);
  ASSERT_EQ(done->faces.size(), expected->faces.size());
  EXPECT_FLOAT_EQ(done->faces[0].x1, expected->faces[0].x1);
  // The same pixels as the RGB path's, written into the planes: luma only
  // where they changed, chroma only in 2x2 blocks where one did.
  EXPECT_TRUE(torch::equal(frame.y, planes.y));
  EXPECT_TRUE(torch::equal(frame.u, planes.u));
  EXPECT_TRUE(torch::equal(frame.v, planes.v));
  EXPECT_GT(frame.y.ne(y0).sum().item<int>(), 2000);
}

TEST(FrameBatcher, AlignedI420FramesAreRestoredWhole) {
  auto frame = to_i420(load_rgb("astronaut.png").slice(1, 20, 84).slice(2, 160, 224));
  const auto seen = rgb_of(frame.view);
  const auto planes = written(frame, torch::Tensor(), enhanced_alone(seen, 1.f));
  gpen::FrameBatcher batcher(fixture().enhancer, nullptr, gpen::FaceMode::Aligned, 1);
  batcher.push(0, frame.view);
  batcher.advance({}, false);
  const auto done = batcher.pop();
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->changed);
  EXPECT_TRUE(torch::equal(frame.y, planes.y));
  EXPECT_TRUE(torch::equal(frame.u, planes.u));
  EXPECT_TRUE(torch::equal(frame.v, planes.v));
}

TEST(FrameBatcher, FacesOfManyFramesShareBatchesAndFramesKeepTheirOrder) {
  Restorer restorer(fixture().enhancer, fixture().detector.get(), 4);
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

TEST(FrameBatcher, RareFacesDoNotHoldFramesWithoutBound) {
  // A face, then frames with nobody (a surveillance camera at night): the
  // face's batch of three never fills, yet no more than three frames wait.
  Restorer restorer(fixture().enhancer, fixture().detector.get(), 3);
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

TEST(FrameBatcher, ManyFacesInOneFrameGoThroughSeveralBatches) {
  Restorer restorer(fixture().enhancer, fixture().detector.get(), 4);
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

TEST(FrameBatcher, GivenFacesAreUsedAndAnEmptyListMeansNone) {
  Restorer restorer(fixture().enhancer, fixture().detector.get(), 1);
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

TEST(FrameBatcher, MaxFacesKeepsTheLargest) {
  Restorer restorer(fixture().enhancer, fixture().detector.get(), 8);
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

TEST(FrameBatcher, BoxesOutsideTheFrameAreClippedOrDropped) {
  Restorer restorer(fixture().enhancer, fixture().detector.get(), 2);
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

TEST(FrameBatcher, FacesThatCannotBeAlignedAreSkipped) {
  Restorer restorer(fixture().enhancer, fixture().detector.get(), 2);
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

TEST(FrameBatcher, StrengthZeroLeavesFramesAndClearDropsEverything) {
  Restorer restorer(fixture().enhancer, fixture().detector.get(), 1);
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

TEST(FrameBatcher, DenoiseAndSharpenChangeTheResult) {
  const auto frame = load_rgb("astronaut.png");
  auto restore = [&](const gpen::RestoreOptions& options) {
    Restorer restorer(fixture().enhancer, fixture().detector.get(), 1);
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

namespace {

// Aligned faces: the fixture's inputs at a size the network resizes from.
torch::Tensor aligned_face(int seed) {
  torch::manual_seed(seed);
  return torch::randint(0, 256, {3, 48, 40}, torch::kUInt8);
}

// What enhance_aligned makes of one face alone.
torch::Tensor enhanced_alone(const torch::Tensor& rgb, float strength) {
  auto image = rgb.permute({1, 2, 0}).clone(torch::MemoryFormat::Contiguous);
  gpen::ImageView view;
  view.data = image.data_ptr<std::uint8_t>();
  view.width = static_cast<int>(image.size(1));
  view.height = static_cast<int>(image.size(0));
  view.row_stride = view.width * 3;
  fixture().enhancer.enhance_aligned({view}, strength);
  return image.permute({2, 0, 1}).contiguous();
}

}  // namespace

TEST(FrameBatcher, AlignedFramesWaitForTheirBatchAndLeaveInOrderById) {
  Restorer restorer(fixture().enhancer, nullptr, 3, gpen::FaceMode::Aligned);
  // Ids need not follow each other: frames are matched by id, never by place.
  const std::vector<gpen::FrameId> ids = {10, 3, 7};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    restorer.push(ids[i], aligned_face(static_cast<int>(i)));
    const std::size_t ran = restorer.run({}, false);
    if (i + 1 < ids.size()) {
      EXPECT_EQ(ran, 0u);
      EXPECT_FALSE(restorer.pop());
    } else {
      EXPECT_EQ(ran, 3u);
    }
  }
  const auto done = pop_all(restorer);
  ASSERT_EQ(done.size(), 3u);
  for (std::size_t i = 0; i < done.size(); ++i) {
    EXPECT_EQ(done[i].id, ids[i]);
    ASSERT_EQ(done[i].faces.size(), 1u);  // the frame is the face
    EXPECT_EQ(done[i].faces[0].x2, 40.f);
    EXPECT_EQ(done[i].faces[0].y2, 48.f);
    ASSERT_TRUE(done[i].rgb.defined());
    // On the CPU a batch runs face by face: the same bits as one face alone.
    EXPECT_TRUE(torch::equal(done[i].rgb, enhanced_alone(aligned_face(static_cast<int>(i)), 1.f)))
        << "frame " << i;
  }
  EXPECT_EQ(restorer.batches_run(), 1u);
  EXPECT_EQ(restorer.size(), 0u);
}

TEST(FrameBatcher, AlignedBatchInFlightFinishesWhenTheNextLaunches) {
  Restorer restorer(fixture().enhancer, nullptr, 2, gpen::FaceMode::Aligned, 2);
  for (gpen::FrameId id = 0; id < 2; ++id) {
    restorer.push(id, aligned_face(static_cast<int>(id)));
    restorer.run({}, false);
  }
  // The first batch is launched and left in flight.
  EXPECT_EQ(restorer.in_flight(), 2u);
  EXPECT_FALSE(restorer.pop());
  restorer.push(2, aligned_face(2));
  restorer.run({}, false);
  EXPECT_FALSE(restorer.pop());
  restorer.push(3, aligned_face(3));
  restorer.run({}, false);
  // The second launched: the first finished.
  auto done = pop_all(restorer);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].id, 0u);
  EXPECT_EQ(done[1].id, 1u);
  EXPECT_EQ(restorer.in_flight(), 2u);
  // A fifth frame and a drain: the batch in flight, then the partial one.
  restorer.push(4, aligned_face(4));
  restorer.run({}, true);
  done = pop_all(restorer);
  ASSERT_EQ(done.size(), 3u);
  for (std::size_t i = 0; i < done.size(); ++i) {
    EXPECT_EQ(done[i].id, i + 2);
    EXPECT_TRUE(torch::equal(done[i].rgb, enhanced_alone(aligned_face(static_cast<int>(i + 2)), 1.f)));
  }
  EXPECT_EQ(restorer.in_flight(), 0u);
  EXPECT_EQ(restorer.size(), 0u);
}

TEST(FrameBatcher, AlignedStrengthZeroRunsNothingAndClearDropsABatchInFlight) {
  Restorer restorer(fixture().enhancer, nullptr, 1, gpen::FaceMode::Aligned, 2);
  gpen::RestoreOptions keep;
  keep.strength = 0.f;
  restorer.push(0, aligned_face(0));
  restorer.run(keep, false);
  auto done = restorer.pop();
  ASSERT_TRUE(done);
  EXPECT_FALSE(done->rgb.defined());
  EXPECT_EQ(restorer.batches_run(), 0u);
  restorer.push(1, aligned_face(1));
  restorer.run({}, false);
  EXPECT_EQ(restorer.in_flight(), 1u);
  restorer.clear();
  EXPECT_EQ(restorer.size(), 0u);
  EXPECT_EQ(restorer.in_flight(), 0u);
  EXPECT_FALSE(restorer.pop());
}

TEST(FrameBatcher, FullModeBatchInFlightKeepsOrderAndDrains) {
  Restorer restorer(fixture().enhancer, fixture().detector.get(), 1, gpen::FaceMode::Full, 2);
  const auto face = load_rgb("astronaut.png");
  restorer.push(0, face);
  restorer.run({}, false);
  EXPECT_EQ(restorer.in_flight(), 1u);
  EXPECT_FALSE(restorer.pop());
  restorer.push(1, face);
  restorer.run({}, false);
  auto first = restorer.pop();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, 0u);
  EXPECT_FALSE(restorer.pop());
  restorer.run({}, true);
  auto second = restorer.pop();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->id, 1u);
  ASSERT_TRUE(first->rgb.defined() && second->rgb.defined());
  EXPECT_TRUE(torch::equal(first->rgb, second->rgb));
}

TEST(FrameBatcher, OldestArrivalIsTheFirstFrameNotPopped) {
  gpen::FrameBatcher probe(fixture().enhancer, nullptr, gpen::FaceMode::Aligned, 2);
  EXPECT_FALSE(probe.oldest_arrival());
  auto image = aligned_face(0).permute({1, 2, 0}).contiguous();
  gpen::ImageView view;
  view.data = image.data_ptr<std::uint8_t>();
  view.width = 40, view.height = 48, view.row_stride = 120;
  const auto before = gpen::FrameBatcher::Clock::now();
  probe.push(5, view);
  const auto oldest = probe.oldest_arrival();
  ASSERT_TRUE(oldest);
  EXPECT_GE(*oldest, before);
  EXPECT_LE(*oldest, gpen::FrameBatcher::Clock::now());
  probe.advance({}, true);
  EXPECT_TRUE(probe.oldest_arrival());  // finished, not yet popped
  ASSERT_TRUE(probe.pop());
  EXPECT_FALSE(probe.oldest_arrival());
}

namespace {

std::unique_ptr<gpen::DetectionPool> cascade_pool(std::size_t workers) {
  std::vector<std::unique_ptr<gpen::FaceDetector>> detectors;
  for (std::size_t i = 0; i < workers; ++i)
    detectors.push_back(gpen::make_face_detector(gpen::DetectorOptions{}, torch::kCPU));
  return std::make_unique<gpen::DetectionPool>(std::move(detectors));
}

}  // namespace

TEST(DetectionPool, FindsTheFacesOfEachFrameAndPassesErrorsOn) {
  auto pool = cascade_pool(2);
  EXPECT_EQ(pool->workers(), 2u);
  EXPECT_EQ(pool->describe(), "Haar cascade (CPU) on 2 threads");
  const auto face = load_rgb("astronaut.png");
  std::vector<gpen::DetectionPool::Ticket> found;
  for (int i = 0; i < 6; ++i) found.push_back(pool->submit(i % 2 ? blank(64, 64) : face));
  const auto alone = fixture().detector->detect(face.unsqueeze(0))[0];
  for (int i = 0; i < 6; ++i) {
    const auto faces = pool->take(found[static_cast<std::size_t>(i)]);
    ASSERT_EQ(faces.size(), i % 2 ? 0u : alone.size()) << "frame " << i;
    for (std::size_t k = 0; k < faces.size(); ++k) EXPECT_EQ(faces[k].x1, alone[k].x1);
  }
  // Not a frame: the detector's error comes out when its faces are taken.
  const auto bad = pool->submit(torch::zeros({2, 8, 8}, torch::kByte));
  EXPECT_ANY_THROW(pool->take(bad));
  // A frame forgotten, queued or running or done, leaves nothing behind.
  std::vector<gpen::DetectionPool::Ticket> dropped;
  for (int i = 0; i < 4; ++i) dropped.push_back(pool->submit(face));
  for (const auto ticket : dropped) pool->forget(ticket);
  const auto last = pool->submit(blank(64, 64));
  EXPECT_TRUE(pool->take(last).empty());
  for (const auto ticket : dropped) EXPECT_FALSE(pool->ready(ticket));
  EXPECT_GT(pool->busy_seconds(), 0.0);
}

TEST(FrameBatcher, DetectionPoolLooksAheadKeepsOrderAndGivesTheSameFrames) {
  const auto face = load_rgb("astronaut.png");
  const auto empty = blank(120, 160);
  const std::vector<torch::Tensor> frames = {face, empty, face, face, empty, face};
  auto pool = cascade_pool(2);
  gpen::FrameBatcher batcher(fixture().enhancer, nullptr, gpen::FaceMode::Full, 1, 1, pool.get());
  EXPECT_EQ(batcher.lookahead(), 2);
  EXPECT_EQ(batcher.max_held(), 3);
  std::vector<torch::Tensor> images;
  for (const auto& f : frames) images.push_back(f.permute({1, 2, 0}).clone(torch::MemoryFormat::Contiguous));
  auto view_of = [&](std::size_t i) {
    gpen::ImageView view;
    view.data = images[i].data_ptr<std::uint8_t>();
    view.width = static_cast<int>(images[i].size(1));
    view.height = static_cast<int>(images[i].size(0));
    view.row_stride = view.width * 3;
    return view;
  };
  std::vector<gpen::FinishedFrame> done;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    batcher.push(i, view_of(i));
    batcher.advance({}, false);
    while (auto out = batcher.pop()) done.push_back(std::move(*out));
    // A batch of one, and two frames more being detected: never more held.
    EXPECT_LE(batcher.size(), 3u) << "after frame " << i;
  }
  EXPECT_GE(done.size(), frames.size() - 2);
  batcher.advance({}, true);
  while (auto out = batcher.pop()) done.push_back(std::move(*out));
  ASSERT_EQ(done.size(), frames.size());
  // The same frames as the detector on the batcher's own thread.
  Restorer plain(fixture().enhancer, fixture().detector.get(), 1);
  for (std::size_t i = 0; i < frames.size(); ++i) plain.push(i, frames[i]);
  plain.run({}, true);
  const auto expected = pop_all(plain);
  ASSERT_EQ(expected.size(), frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(done[i].id, i);
    EXPECT_EQ(done[i].faces.size(), expected[i].faces.size()) << "frame " << i;
    EXPECT_EQ(done[i].changed, expected[i].rgb.defined()) << "frame " << i;
    if (expected[i].rgb.defined()) {
      EXPECT_TRUE(torch::equal(images[i].permute({2, 0, 1}), expected[i].rgb)) << "frame " << i;
    }
  }
  const gpen::PipelineStats stats = batcher.stats();
  EXPECT_EQ(stats.frames, frames.size());
  EXPECT_EQ(stats.faces, 4u);
  EXPECT_GT(stats[gpen::Stage::Detection], 0.0);
  EXPECT_GT(stats[gpen::Stage::Network], 0.0);
  EXPECT_GT(stats[gpen::Stage::PasteBack], 0.0);
}

namespace {

// The cascade, counting the frames it searches and missing the faces of the
// searches listed.
class CountingDetector : public gpen::FaceDetector {
 public:
  explicit CountingDetector(std::set<int> misses = {}) : misses_(std::move(misses)) {}
  std::vector<std::vector<gpen::FaceDetection>> detect(const torch::Tensor& frames) override {
    auto faces = cascade_->detect(frames);
    for (auto& frame : faces)
      if (misses_.count(searched_++)) frame.clear();
    return faces;
  }
  torch::Device device() const override { return cascade_->device(); }
  std::string describe() const override { return "counting " + cascade_->describe(); }
  int searched() const { return searched_; }

 private:
  std::unique_ptr<gpen::FaceDetector> cascade_ =
      gpen::make_face_detector(gpen::DetectorOptions{}, torch::kCPU);
  std::set<int> misses_;
  std::atomic<int> searched_{0};
};

gpen::TrackingOptions tracking(double smoothing, int interval = 1) {
  gpen::TrackingOptions t;
  t.enabled = true;
  t.tracker.smoothing = smoothing;
  t.detection_interval = interval;
  return t;
}

}  // namespace

TEST(FrameBatcher, TrackingKeepsIdsAndCarriesAMissedFace) {
  const auto frame = load_rgb("astronaut.png");
  for (const bool tracked : {false, true}) {
    CountingDetector detector({2});  // the third frame: missed
    Restorer restorer(fixture().enhancer, &detector, 2);
    if (tracked) restorer.set_tracking(tracking(0.0));
    for (gpen::FrameId id = 0; id < 5; ++id) restorer.push(id, frame);
    restorer.run({}, true);
    const auto done = pop_all(restorer);
    ASSERT_EQ(done.size(), 5u);
    EXPECT_EQ(detector.searched(), 5);
    for (std::size_t i = 0; i < done.size(); ++i) {
      if (!tracked && i == 2) {
        EXPECT_TRUE(done[i].faces.empty());
        EXPECT_FALSE(done[i].rgb.defined());
        continue;
      }
      ASSERT_EQ(done[i].faces.size(), 1u) << i;
      ASSERT_TRUE(done[i].rgb.defined()) << i;
      EXPECT_EQ(done[i].faces[0].track_id, tracked ? done[0].faces[0].track_id : -1) << i;
      // Unsmoothed, a still face is restored the same in every frame
      // (the carried one too: the face did not move).
      EXPECT_TRUE(torch::equal(done[i].rgb, done[0].rgb)) << i;
    }
  }
}

TEST(FrameBatcher, DetectionIntervalSearchesEveryNthFrameOnlyAndRestoresTheSameFaces) {
  const auto frame = load_rgb("astronaut.png");
  std::vector<RestoredFrame> every;
  for (const int interval : {1, 5}) {
    CountingDetector detector;
    Restorer restorer(fixture().enhancer, &detector, 3);
    restorer.set_tracking(tracking(gpen::kDefaultSmoothing, interval));
    for (gpen::FrameId id = 0; id < 10; ++id) {
      restorer.push(id, frame);
      restorer.run({}, false);
    }
    restorer.run({}, true);
    const auto done = pop_all(restorer);
    ASSERT_EQ(done.size(), 10u);
    EXPECT_EQ(detector.searched(), interval == 1 ? 10 : 2);
    for (std::size_t i = 0; i < done.size(); ++i) {
      ASSERT_EQ(done[i].faces.size(), 1u) << i;
      EXPECT_EQ(done[i].faces[0].track_id, done[0].faces[0].track_id);
      if (interval == 1) continue;
      // A still face: between searches the same face, restored the same.
      EXPECT_EQ(done[i].faces[0].x1, every[i].faces[0].x1) << i;
      EXPECT_TRUE(torch::equal(done[i].rgb, every[i].rgb)) << i;
    }
    every = done;
  }
}

TEST(FrameBatcher, DetectionIntervalWithAPoolAndClearResetsTheTracks) {
  const auto frame = load_rgb("astronaut.png");
  std::vector<std::unique_ptr<gpen::FaceDetector>> detectors;
  detectors.push_back(std::make_unique<CountingDetector>());
  detectors.push_back(std::make_unique<CountingDetector>());
  const auto* a = static_cast<CountingDetector*>(detectors[0].get());
  const auto* b = static_cast<CountingDetector*>(detectors[1].get());
  gpen::DetectionPool pool(std::move(detectors));
  gpen::FrameBatcher batcher(fixture().enhancer, nullptr, gpen::FaceMode::Full, 2, 1, &pool);
  batcher.set_tracking(tracking(gpen::kDefaultSmoothing, 3));
  std::vector<torch::Tensor> images;
  auto push = [&](gpen::FrameId id) {
    images.push_back(frame.permute({1, 2, 0}).clone(torch::MemoryFormat::Contiguous));
    gpen::ImageView view;
    view.data = images.back().data_ptr<std::uint8_t>();
    view.width = static_cast<int>(frame.size(2));
    view.height = static_cast<int>(frame.size(1));
    view.row_stride = view.width * 3;
    batcher.push(id, view);
    batcher.advance({}, false);
  };
  images.reserve(16);
  for (gpen::FrameId id = 0; id < 7; ++id) push(id);
  batcher.advance({}, true);
  std::vector<std::int64_t> ids;
  while (auto done = batcher.pop()) {
    ASSERT_EQ(done->faces.size(), 1u) << done->id;
    ids.push_back(done->faces[0].track_id);
  }
  ASSERT_EQ(ids.size(), 7u);
  for (const auto id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(a->searched() + b->searched(), 3);  // frames 0, 3 and 6
  // After a clear (a flush), the next frame is searched and ids start again.
  batcher.clear();
  push(100);
  batcher.advance({}, true);
  const auto after = batcher.pop();
  ASSERT_TRUE(after);
  ASSERT_EQ(after->faces.size(), 1u);
  EXPECT_EQ(after->faces[0].track_id, ids[0]);
  EXPECT_EQ(a->searched() + b->searched(), 4);
}
