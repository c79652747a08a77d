// The face tracker and its One-Euro filter: ids that follow faces, faces
// carried over missed detections, smoothing that removes jitter and follows
// motion.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "faces/face_align.h"
#include "faces/face_tracker.h"
#include "faces/one_euro_filter.h"

namespace {

gpen::FaceDetection face_at(float x, float y, float size = 100.f) {
  gpen::FaceDetection face;
  face.x1 = x, face.y1 = y, face.x2 = x + size, face.y2 = y + size;
  face.score = 0.99f;
  face.landmarks = gpen::estimate_landmarks(face);
  face.has_landmarks = true;
  return face;
}

gpen::FaceDetection moved(gpen::FaceDetection face, float dx, float dy) {
  face.x1 += dx, face.x2 += dx, face.y1 += dy, face.y2 += dy;
  for (auto& p : face.landmarks) p.x += dx, p.y += dy;
  return face;
}

double rms_step(const std::vector<double>& values) {
  double sum = 0.0;
  for (std::size_t i = 1; i < values.size(); ++i)
    sum += (values[i] - values[i - 1]) * (values[i] - values[i - 1]);
  return std::sqrt(sum / static_cast<double>(values.size() - 1));
}

}  // namespace

TEST(OneEuroFilter, AStillValueStaysExactlyTheSame) {
  gpen::OneEuroFilter filter;
  const auto params = gpen::smoothing_params(0.7);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(filter.filter(123.456, 1.0, 100.0, params), 123.456);
  EXPECT_EQ(filter.speed(), 0.0);
}

TEST(OneEuroFilter, RemovesJitterAndFollowsMotion) {
  std::mt19937 random(7);
  std::normal_distribution<double> noise(0.0, 1.5);
  const auto params = gpen::smoothing_params(gpen::kDefaultSmoothing);
  // Still, with noise: frame-to-frame jitter divided by well over 3.
  gpen::OneEuroFilter still;
  std::vector<double> raw, smooth;
  for (int i = 0; i < 300; ++i) {
    raw.push_back(200.0 + noise(random));
    smooth.push_back(still.filter(raw.back(), 1.0, 100.0, params));
  }
  EXPECT_GT(rms_step(raw) / rms_step(smooth), 3.0);
  // A steady walk of 3 px per frame (3% of the face a frame): followed, a
  // few pixels behind at most.
  gpen::OneEuroFilter walking;
  double lag = 0.0;
  for (int i = 0; i < 100; ++i) lag = 3.0 * i - walking.filter(3.0 * i, 1.0, 100.0, params);
  EXPECT_LT(std::abs(lag), 3.0);
  EXPECT_NEAR(walking.speed(), 3.0, 0.1);
  EXPECT_NEAR(walking.predict(2.0), walking.value() + 2.0 * walking.speed(), 1e-9);
}

TEST(OneEuroFilter, FollowTakesValuesAsTheyAre) {
  gpen::OneEuroFilter filter;
  for (int i = 0; i < 60; ++i) EXPECT_EQ(filter.follow(2.0 * i, 1.0), 2.0 * i);
  EXPECT_NEAR(filter.speed(), 2.0, 0.05);
}

TEST(FaceTracker, IdsFollowTheFacesAsTheyMoveAndSwapPlaces) {
  gpen::FaceTracker tracker;
  auto a = face_at(10, 10), b = face_at(300, 40);
  auto faces = tracker.update({a, b});
  ASSERT_EQ(faces.size(), 2u);
  const auto id_a = faces[0].track_id, id_b = faces[1].track_id;
  EXPECT_GE(id_a, 0);
  EXPECT_NE(id_a, id_b);
  for (int i = 0; i < 10; ++i) {
    a = moved(a, 4, 1), b = moved(b, -3, 2);
    // Given in either order, each keeps its id.
    faces = i % 2 ? tracker.update({a, b}) : tracker.update({b, a});
    ASSERT_EQ(faces.size(), 2u);
    EXPECT_EQ(faces[i % 2 ? 0 : 1].track_id, id_a);
    EXPECT_EQ(faces[i % 2 ? 1 : 0].track_id, id_b);
  }
  // A face far from every track is a new one.
  faces = tracker.update({a, b, face_at(600, 400)});
  ASSERT_EQ(faces.size(), 3u);
  EXPECT_NE(faces[2].track_id, id_a);
  EXPECT_NE(faces[2].track_id, id_b);
  EXPECT_EQ(tracker.tracks(), 3u);
}

TEST(FaceTracker, UnsmoothedFacesAreTheDetectionsExactly) {
  gpen::FaceTracker tracker;  // smoothing 0
  std::mt19937 random(3);
  std::uniform_real_distribution<float> jitter(-2.f, 2.f);
  for (int i = 0; i < 10; ++i) {
    const auto detection = moved(face_at(50, 60), jitter(random), jitter(random));
    const auto faces = tracker.update({detection});
    ASSERT_EQ(faces.size(), 1u);
    EXPECT_EQ(faces[0].x1, detection.x1);
    EXPECT_EQ(faces[0].y2, detection.y2);
    for (int k = 0; k < 5; ++k) {
      EXPECT_EQ(faces[0].landmarks[k].x, detection.landmarks[k].x);
      EXPECT_EQ(faces[0].landmarks[k].y, detection.landmarks[k].y);
    }
  }
}

TEST(FaceTracker, AMissedFaceIsCarriedForAFewFramesAtItsSpeed) {
  gpen::TrackerOptions options;
  options.max_missed = 2;
  gpen::FaceTracker tracker(options);
  auto face = face_at(100, 100);
  std::int64_t id = -1;
  for (int i = 0; i < 30; ++i) {
    face = moved(face, 2, 0);
    id = tracker.update({face})[0].track_id;
  }
  // Missed twice: carried, 2 px a frame further each time.
  for (int miss = 1; miss <= 2; ++miss) {
    const auto faces = tracker.update({});
    ASSERT_EQ(faces.size(), 1u) << miss;
    EXPECT_EQ(faces[0].track_id, id);
    EXPECT_NEAR(faces[0].x1, face.x1 + 2.f * miss, 0.3f);
    EXPECT_NEAR(faces[0].landmarks[0].x, face.landmarks[0].x + 2.f * miss, 0.3f);
  }
  // Back: the same track.
  face = moved(face, 6, 0);
  auto faces = tracker.update({face});
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_EQ(faces[0].track_id, id);
  // Missed three times in a row: gone after two.
  EXPECT_EQ(tracker.update({}).size(), 1u);
  EXPECT_EQ(tracker.update({}).size(), 1u);
  EXPECT_EQ(tracker.update({}).size(), 0u);
  EXPECT_EQ(tracker.tracks(), 0u);
}

TEST(FaceTracker, CarriedFramesDoNotCountAsMisses) {
  gpen::TrackerOptions options;
  options.max_missed = 1;
  gpen::FaceTracker tracker(options);
  const auto face = face_at(100, 100);
  const auto id = tracker.update({face})[0].track_id;
  for (int i = 0; i < 4; ++i) {
    const auto faces = tracker.carry();
    ASSERT_EQ(faces.size(), 1u);
    EXPECT_EQ(faces[0].track_id, id);
    EXPECT_FLOAT_EQ(faces[0].x1, face.x1);  // still: where it was
  }
  EXPECT_EQ(tracker.update({moved(face, 3, 3)})[0].track_id, id);
}

TEST(FaceTracker, UpstreamIdsAreHonoured) {
  gpen::FaceTracker tracker;
  auto a = face_at(10, 10), b = face_at(20, 15);  // overlapping: geometry alone could swap them
  a.track_id = 42, b.track_id = 7;
  auto faces = tracker.update({a, b});
  EXPECT_EQ(faces[0].track_id, 42);
  EXPECT_EQ(faces[1].track_id, 7);
  faces = tracker.update({b, a});
  EXPECT_EQ(faces[0].track_id, 7);
  EXPECT_EQ(faces[1].track_id, 42);
  EXPECT_EQ(tracker.tracks(), 2u);
}

TEST(FaceTracker, SmoothingHoldsAJitteringFaceStill) {
  gpen::TrackerOptions options;
  options.smoothing = gpen::kDefaultSmoothing;
  gpen::FaceTracker tracker(options);
  std::mt19937 random(11);
  std::normal_distribution<float> noise(0.f, 1.5f);
  std::vector<double> raw, smooth;
  for (int i = 0; i < 200; ++i) {
    const auto detection = moved(face_at(200, 200, 150), noise(random), noise(random));
    const auto faces = tracker.update({detection});
    ASSERT_EQ(faces.size(), 1u);
    raw.push_back(detection.landmarks[0].x);
    smooth.push_back(faces[0].landmarks[0].x);
  }
  EXPECT_GT(rms_step(raw) / rms_step(smooth), 3.0);
}

TEST(FaceTracker, ResetForgetsTracksAndRestartsIds) {
  gpen::FaceTracker tracker;
  const auto first = tracker.update({face_at(0, 0)})[0].track_id;
  tracker.update({face_at(0, 0), face_at(500, 0)});
  tracker.reset();
  EXPECT_EQ(tracker.tracks(), 0u);
  EXPECT_TRUE(tracker.carry().empty());
  EXPECT_EQ(tracker.update({face_at(500, 0)})[0].track_id, first);
}
