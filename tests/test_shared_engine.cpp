// SharedEngine, EngineStream and EngineRegistry: streams sharing one model
// and one batcher (model-instance-id). Batches fill across streams, each
// stream's frames leave once and in its order, a stream's drain, clear and
// close touch its frames only, and the registry shares, compares and frees;
// on the gpen-64 fixture model (aligned mode, and full mode with the
// Haar-cascade detector).
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <atomic>
#include <map>
#include <optional>
#include <thread>

#include "engine/engine_registry.h"
#include "engine/shared_engine.h"
#include "face_enhancer.h"
#include "faces/face_detector.h"
#include "frame_batcher.h"

namespace {

const std::string kData = std::string(GPEN_TEST_DATA_DIR);
const std::string kModel = kData + "/gpen-64/gpen-64.pth";

std::shared_ptr<gpen::SharedEngine> make_engine(gpen::FaceMode mode, int batch_size,
                                                int depth = 1) {
  gpen::EngineParts parts;
  parts.enhancer = std::make_unique<gpen::FaceEnhancer>(
      kModel, gpen::DeviceRequest::parse("cpu"), gpen::Precision::Fp32);
  if (mode == gpen::FaceMode::Full)
    parts.detector = gpen::make_face_detector(gpen::DetectorOptions{}, torch::kCPU);
  parts.mode = mode;
  parts.batch_size = batch_size;
  parts.pipeline_depth = depth;
  return std::make_shared<gpen::SharedEngine>(std::move(parts));
}

torch::Tensor random_face(int seed, int height, int width) {
  torch::manual_seed(seed);
  return torch::randint(0, 256, {3, height, width}, torch::kUInt8);
}

torch::Tensor load_rgb(const std::string& name) {
  cv::Mat bgr = cv::imread(kData + "/images/" + name, cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot read " + name);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone();
}

struct Out {
  gpen::FrameId id = 0;
  torch::Tensor rgb;  // as written (or as pushed when left alone)
  bool changed = false;
  std::size_t faces = 0;
};

// One stream over images the test owns, as test_frame_batcher's Restorer.
class Stream {
 public:
  explicit Stream(std::shared_ptr<gpen::SharedEngine> engine, gpen::SharedEngine::Wake wake = {})
      : stream_(std::make_unique<gpen::EngineStream>(std::move(engine), std::move(wake))) {}

  void push(gpen::FrameId id, const torch::Tensor& rgb) {
    auto& image = images_[id] = rgb.permute({1, 2, 0}).clone(torch::MemoryFormat::Contiguous);
    gpen::ImageView view;
    view.data = image.data_ptr<std::uint8_t>();
    view.width = static_cast<int>(image.size(1));
    view.height = static_cast<int>(image.size(0));
    view.row_stride = view.width * 3;
    stream_->push(id, view);
  }
  void run(bool drain, float strength = 1.f) {
    gpen::RestoreOptions options;
    options.strength = strength;
    stream_->advance(options, drain);
  }
  std::vector<Out> pop_all() {
    std::vector<Out> out;
    while (auto done = stream_->pop()) {
      const auto image = images_.at(done->id);
      images_.erase(done->id);
      out.push_back({done->id, image.permute({2, 0, 1}).contiguous(), done->changed,
                     done->faces.size()});
    }
    return out;
  }
  gpen::EngineStream& handle() { return *stream_; }
  void close() { stream_.reset(); }

 private:
  std::map<gpen::FrameId, torch::Tensor> images_;
  std::unique_ptr<gpen::EngineStream> stream_;
};

// What a private engine of batch size 1 makes of one aligned face.
torch::Tensor alone(const torch::Tensor& rgb, float strength = 1.f) {
  static auto engine = make_engine(gpen::FaceMode::Aligned, 1);
  Stream stream(engine);
  stream.push(0, rgb);
  stream.run(true, strength);
  auto out = stream.pop_all();
  return out.at(0).rgb;
}

// Four streams of different frame sizes, frames pushed in turn.
const std::vector<std::pair<int, int>> kSizes = {{48, 40}, {64, 64}, {30, 52}, {80, 72}};

TEST(SharedEngine, FourInterleavedStreamsFillOneBatchAndKeepTheirOrder) {
  auto engine = make_engine(gpen::FaceMode::Aligned, 4);
  std::vector<std::unique_ptr<Stream>> streams;
  for (int s = 0; s < 4; ++s) streams.push_back(std::make_unique<Stream>(engine));
  EXPECT_EQ(engine->streams(), 4u);
  constexpr int kFrames = 5;
  std::vector<std::vector<Out>> out(4);
  for (int f = 0; f < kFrames; ++f)
    for (int s = 0; s < 4; ++s) {
      // Ids are the stream's own: the same ids in every stream.
      streams[s]->push(static_cast<gpen::FrameId>(100 + f),
                       random_face(10 * s + f, kSizes[s].first, kSizes[s].second));
      streams[s]->run(false);
      for (int t = 0; t < 4; ++t)
        for (auto& o : streams[t]->pop_all()) out[t].push_back(std::move(o));
    }
  // Every batch took one frame of each stream.
  EXPECT_EQ(engine->batches_run(), static_cast<std::size_t>(kFrames));
  for (int s = 0; s < 4; ++s) {
    ASSERT_EQ(out[s].size(), static_cast<std::size_t>(kFrames)) << "stream " << s;
    for (int f = 0; f < kFrames; ++f) {
      EXPECT_EQ(out[s][f].id, static_cast<gpen::FrameId>(100 + f));
      EXPECT_TRUE(out[s][f].changed);
      // On the CPU a batch runs face by face: the bits of the face alone.
      EXPECT_TRUE(torch::equal(
          out[s][f].rgb, alone(random_face(10 * s + f, kSizes[s].first, kSizes[s].second))))
          << "stream " << s << " frame " << f;
    }
    EXPECT_EQ(streams[s]->handle().size(), 0u);
  }
}

TEST(SharedEngine, EachStreamHasItsOwnStrength) {
  auto engine = make_engine(gpen::FaceMode::Aligned, 2);
  Stream a(engine), b(engine);
  const auto face_a = random_face(1, 48, 40), face_b = random_face(2, 48, 40);
  a.push(0, face_a);
  a.run(false, 1.f);
  b.push(0, face_b);
  b.run(false, 0.5f);  // one batch of two, two strengths
  EXPECT_EQ(engine->batches_run(), 1u);
  const auto out_a = a.pop_all(), out_b = b.pop_all();
  ASSERT_EQ(out_a.size(), 1u);
  ASSERT_EQ(out_b.size(), 1u);
  EXPECT_TRUE(torch::equal(out_a[0].rgb, alone(face_a, 1.f)));
  EXPECT_TRUE(torch::equal(out_b[0].rgb, alone(face_b, 0.5f)));
}

TEST(SharedEngine, ClearingOneStreamLeavesTheOthers) {
  auto engine = make_engine(gpen::FaceMode::Aligned, 4);
  Stream a(engine), b(engine), c(engine);
  for (int f = 0; f < 2; ++f) {
    a.push(f, random_face(f, 48, 40));
    a.run(false);
    b.push(f, random_face(10 + f, 48, 40));
    b.run(false);
  }
  // Four frames: one batch of a's and b's; then b flushes with one held.
  b.push(2, random_face(12, 48, 40));
  b.run(false);
  EXPECT_EQ(b.handle().size(), 3u);
  b.handle().clear();
  EXPECT_EQ(b.handle().size(), 0u);
  EXPECT_TRUE(b.pop_all().empty());  // gone, not delivered later
  c.push(0, random_face(20, 48, 40));
  c.run(true);
  ASSERT_EQ(a.pop_all().size(), 2u);
  ASSERT_EQ(c.pop_all().size(), 1u);
  // b goes on after its flush, its frames from where it restarted.
  b.push(7, random_face(13, 48, 40));
  b.run(true);
  const auto out_b = b.pop_all();
  ASSERT_EQ(out_b.size(), 1u);
  EXPECT_EQ(out_b[0].id, 7u);
  EXPECT_TRUE(torch::equal(out_b[0].rgb, alone(random_face(13, 48, 40))));
}

TEST(SharedEngine, ClearingAStreamFinishesTheBatchInFlightForTheOthers) {
  auto engine = make_engine(gpen::FaceMode::Aligned, 2, 2);
  Stream a(engine), b(engine);
  a.push(0, random_face(1, 48, 40));
  a.run(false);
  b.push(0, random_face(2, 48, 40));
  b.run(false);  // launched, in flight
  EXPECT_EQ(a.handle().in_flight(), 1u);
  a.handle().clear();
  EXPECT_EQ(a.handle().size(), 0u);
  const auto out_b = b.pop_all();  // its batch finished, its frame written
  ASSERT_EQ(out_b.size(), 1u);
  EXPECT_TRUE(torch::equal(out_b[0].rgb, alone(random_face(2, 48, 40))));
}

TEST(SharedEngine, OneStreamsDrainFinishesItsFramesAndKeepsTheOthersGoing) {
  auto engine = make_engine(gpen::FaceMode::Full, 4);
  const auto face = load_rgb("astronaut.png");
  const auto empty = torch::full({3, 90, 120}, 128, torch::kUInt8);
  Stream a(engine), b(engine);
  a.push(0, face);
  a.run(false);
  b.push(0, empty);
  b.run(false);
  a.push(1, face);
  a.run(true);  // a's EOS
  const auto out_a = a.pop_all();
  ASSERT_EQ(out_a.size(), 2u);
  EXPECT_EQ(out_a[0].id, 0u);
  EXPECT_EQ(out_a[1].id, 1u);
  EXPECT_EQ(out_a[0].faces, 1u);
  EXPECT_TRUE(out_a[0].changed);
  EXPECT_EQ(a.handle().size(), 0u);
  // b keeps its frame (done or not) until it pops it, and goes on.
  b.push(1, face);
  b.run(true);
  const auto out_b = b.pop_all();
  ASSERT_EQ(out_b.size(), 2u);
  EXPECT_EQ(out_b[0].id, 0u);
  EXPECT_FALSE(out_b[0].changed);
  EXPECT_EQ(out_b[1].id, 1u);
  EXPECT_EQ(out_b[1].faces, 1u);
  // The same pixels in either stream: the face restored alike.
  EXPECT_TRUE(torch::equal(out_a[1].rgb, out_b[1].rgb));
}

TEST(SharedEngine, FullModeFillsBatchesAcrossStreamsWithItsOwnOrder) {
  auto engine = make_engine(gpen::FaceMode::Full, 4);
  const auto face = load_rgb("astronaut.png");
  const auto empty = torch::full({3, 90, 120}, 128, torch::kUInt8);
  Stream a(engine), b(engine);
  // a: face, face, empty; b: face, empty of another size, face. The first
  // four frames' three faces go through the network together.
  const auto other = torch::full({3, 70, 50}, 128, torch::kUInt8);
  const std::vector<torch::Tensor> fa = {face, face, empty}, fb = {face, other, face};
  std::vector<Out> out_a, out_b;
  for (std::size_t f = 0; f < 3; ++f) {
    a.push(f, fa[f]);
    a.run(false);
    b.push(f, fb[f]);
    b.run(false);
    for (auto& o : a.pop_all()) out_a.push_back(std::move(o));
    for (auto& o : b.pop_all()) out_b.push_back(std::move(o));
  }
  a.run(true);
  b.run(true);
  for (auto& o : a.pop_all()) out_a.push_back(std::move(o));
  for (auto& o : b.pop_all()) out_b.push_back(std::move(o));
  ASSERT_EQ(out_a.size(), 3u);
  ASSERT_EQ(out_b.size(), 3u);
  for (std::size_t f = 0; f < 3; ++f) {
    EXPECT_EQ(out_a[f].id, f);
    EXPECT_EQ(out_b[f].id, f);
    EXPECT_EQ(out_a[f].faces, fa[f].size(1) == face.size(1) ? 1u : 0u);
    EXPECT_EQ(out_b[f].faces, fb[f].size(1) == face.size(1) ? 1u : 0u);
  }
  // Three faces in the first batch, b's last one drained alone.
  EXPECT_EQ(engine->batches_run(), 2u);
  EXPECT_TRUE(torch::equal(out_a[0].rgb, out_b[2].rgb));
  EXPECT_TRUE(torch::equal(out_a[1].rgb, out_b[0].rgb));
  EXPECT_TRUE(torch::equal(out_b[1].rgb, other));  // no face: left alone
}

TEST(SharedEngine, AStreamIsWokenWhenAnotherStreamFinishesItsFrames) {
  auto engine = make_engine(gpen::FaceMode::Aligned, 2);
  std::atomic<int> woken{0};
  Stream a(engine), b(engine, [&] { ++woken; });
  b.push(0, random_face(1, 48, 40));
  b.run(false);
  EXPECT_EQ(woken.load(), 0);
  a.push(0, random_face(2, 48, 40));
  a.run(false);  // the batch of two runs in a's call
  EXPECT_GE(woken.load(), 1);
  EXPECT_EQ(b.pop_all().size(), 1u);
}

TEST(SharedEngine, StreamsLeavingHandTheEngineToTheOthersAndTheLastFreesIt) {
  std::weak_ptr<gpen::SharedEngine> watch;
  auto b = std::make_unique<Stream>(make_engine(gpen::FaceMode::Aligned, 2));
  watch = b->handle().engine();
  {
    Stream a(watch.lock());
    a.push(0, random_face(1, 48, 40));
    a.run(false);
    EXPECT_EQ(watch.lock()->streams(), 2u);
    // a leaves with a frame held: dropped, b unaffected.
  }
  EXPECT_EQ(watch.lock()->streams(), 1u);
  b->push(0, random_face(2, 48, 40));
  b->run(false);
  EXPECT_EQ(b->pop_all().size(), 0u);  // a's frame no longer counts toward the batch
  b->run(true);
  ASSERT_EQ(b->pop_all().size(), 1u);
  // A stream joins while b plays, then b leaves.
  auto c = std::make_unique<Stream>(watch.lock());
  b.reset();
  EXPECT_FALSE(watch.expired());
  c->push(0, random_face(3, 48, 40));
  c->run(true);
  EXPECT_EQ(c->pop_all().size(), 1u);
  c.reset();
  EXPECT_TRUE(watch.expired());
}

TEST(SharedEngine, ThreadsPushingAtOnceEachGetTheirFramesInOrder) {
  auto engine = make_engine(gpen::FaceMode::Aligned, 3);
  constexpr int kStreams = 4, kFrames = 12;
  std::vector<std::vector<gpen::FrameId>> out(kStreams);
  std::vector<std::thread> threads;
  for (int s = 0; s < kStreams; ++s)
    threads.emplace_back([&, s] {
      Stream stream(engine);
      for (int f = 0; f < kFrames; ++f) {
        stream.push(static_cast<gpen::FrameId>(f), random_face(f, kSizes[s].first, kSizes[s].second));
        stream.run(false);
        for (const auto& o : stream.pop_all()) out[s].push_back(o.id);
      }
      stream.run(true);
      for (const auto& o : stream.pop_all()) out[s].push_back(o.id);
    });
  for (auto& t : threads) t.join();
  for (int s = 0; s < kStreams; ++s) {
    ASSERT_EQ(out[s].size(), static_cast<std::size_t>(kFrames)) << "stream " << s;
    for (int f = 0; f < kFrames; ++f) EXPECT_EQ(out[s][f], static_cast<gpen::FrameId>(f));
  }
  EXPECT_EQ(engine->streams(), 0u);
}

TEST(EngineRegistry, SharesByIdComparesSettingsAndForgetsFreedEngines) {
  auto& registry = gpen::EngineRegistry::process();
  const gpen::EngineSettings settings = {{"model", kModel}, {"batch-size", "2"}};
  int made = 0;
  const auto create = [&] {
    ++made;
    return make_engine(gpen::FaceMode::Aligned, 2);
  };
  auto first = registry.acquire("cams", settings, "gpen0", create);
  ASSERT_TRUE(first.engine);
  EXPECT_TRUE(first.created);
  auto second = registry.acquire("cams", settings, "gpen1", create);
  EXPECT_EQ(second.engine, first.engine);
  EXPECT_FALSE(second.created);
  EXPECT_EQ(made, 1);
  // Another id: another engine.
  auto other = registry.acquire("lobby", settings, "gpen2", create);
  EXPECT_NE(other.engine, first.engine);
  EXPECT_EQ(made, 2);
  // A different setting: refused, naming both elements and the setting.
  auto refused =
      registry.acquire("cams", {{"model", kModel}, {"batch-size", "4"}}, "gpen3", create);
  EXPECT_FALSE(refused.engine);
  EXPECT_EQ(refused.mismatch, "batch-size is \"4\" on gpen3 but \"2\" on gpen0");
  EXPECT_EQ(made, 2);
  // Freed with its last user; the id then makes a new one, with new settings.
  first.engine.reset();
  EXPECT_TRUE(registry.alive("cams"));
  second.engine.reset();
  EXPECT_FALSE(registry.alive("cams"));
  auto again =
      registry.acquire("cams", {{"model", kModel}, {"batch-size", "4"}}, "gpen3", create);
  EXPECT_TRUE(again.engine);
  EXPECT_EQ(made, 3);
  // A creation that fails keeps nothing.
  auto failed = registry.acquire("broken", settings, "gpen4", [] {
    return std::shared_ptr<gpen::SharedEngine>();
  });
  EXPECT_FALSE(failed.engine);
  EXPECT_TRUE(failed.mismatch.empty());
  EXPECT_FALSE(registry.alive("broken"));
}

TEST(EngineRegistry, MismatchNamesASettingOnlyOneSideHas) {
  EXPECT_EQ(gpen::settings_mismatch({{"a", "1"}}, "x", {{"a", "1"}}, "y"), "");
  EXPECT_EQ(gpen::settings_mismatch({{"a", "1"}}, "x", {{"a", "1"}, {"b", "2"}}, "y"),
            "b is \"(unset)\" on x but \"2\" on y");
}

}  // namespace
