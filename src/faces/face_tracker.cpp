#include "faces/face_tracker.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace gpen {
namespace {

float* value_of(FaceDetection& face, int i) {
  switch (i) {
    case 0: return &face.x1;
    case 1: return &face.y1;
    case 2: return &face.x2;
    case 3: return &face.y2;
    default: {
      Point& p = face.landmarks[static_cast<std::size_t>((i - 4) / 2)];
      return (i - 4) % 2 == 0 ? &p.x : &p.y;
    }
  }
}

double face_size(const FaceDetection& face) {
  return std::sqrt(std::max(1.0, static_cast<double>(face.width()) * face.height()));
}

// Mean distance of the landmarks, in face sizes of `b`.
double landmark_distance(const FaceDetection& a, const FaceDetection& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.landmarks.size(); ++i)
    sum += std::hypot(a.landmarks[i].x - b.landmarks[i].x, a.landmarks[i].y - b.landmarks[i].y);
  return sum / static_cast<double>(a.landmarks.size()) / face_size(b);
}

}  // namespace

double box_overlap(const FaceDetection& a, const FaceDetection& b) {
  const double w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const double h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (!(w > 0.0 && h > 0.0)) return 0.0;
  const double both = w * h;
  const double area_a = static_cast<double>(a.width()) * a.height();
  const double area_b = static_cast<double>(b.width()) * b.height();
  const double all = area_a + area_b - both;
  return all > 0.0 ? both / all : 0.0;
}

FaceTracker::FaceTracker(TrackerOptions options) : options_(options) {}

void FaceTracker::reset() {
  tracks_.clear();
  next_id_ = 1;
}

FaceDetection FaceTracker::predicted(const Track& track, int frames_ahead) const {
  FaceDetection face = track.face;
  for (int i = 0; i < kValues; ++i)
    *value_of(face, i) = static_cast<float>(track.filters[i].predict(frames_ahead));
  return face;
}

FaceDetection FaceTracker::smoothed(Track& track, const FaceDetection& detection) {
  FaceDetection face = detection;
  face.track_id = track.id;
  const double frames = track.frames_since_seen + 1;
  const double scale = face_size(track.face);
  const bool smooth = options_.smoothing > 0.0;
  const OneEuroParams params = smoothing_params(options_.smoothing);
  for (int i = 0; i < kValues; ++i) {
    float* v = value_of(face, i);
    const double out = smooth ? track.filters[i].filter(*v, frames, scale, params)
                              : track.filters[i].follow(*v, frames);
    // Unsmoothed, the detector's values stay exactly as they were.
    if (smooth) *v = static_cast<float>(out);
  }
  return face;
}

std::vector<FaceDetection> FaceTracker::update(const std::vector<FaceDetection>& detections) {
  // Candidate pairs, best first: a shared upstream id beats any geometry.
  std::vector<std::tuple<double, std::size_t, std::size_t>> pairs;
  std::vector<FaceDetection> expected;
  expected.reserve(tracks_.size());
  for (const auto& track : tracks_) expected.push_back(predicted(track, track.frames_since_seen + 1));
  for (std::size_t d = 0; d < detections.size(); ++d) {
    for (std::size_t t = 0; t < tracks_.size(); ++t) {
      if (detections[d].track_id >= 0) {
        if (detections[d].track_id == tracks_[t].id) pairs.emplace_back(10.0, d, t);
        continue;
      }
      const double overlap = box_overlap(detections[d], expected[t]);
      const double distance = landmark_distance(detections[d], expected[t]);
      if (overlap >= options_.min_overlap || distance <= options_.max_landmark_distance)
        pairs.emplace_back(overlap + (1.0 - std::min(distance, 1.0)), d, t);
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
  std::vector<int> track_of(detections.size(), -1);
  std::vector<bool> taken(tracks_.size(), false);
  for (const auto& [score, d, t] : pairs) {
    if (track_of[d] >= 0 || taken[t]) continue;
    track_of[d] = static_cast<int>(t);
    taken[t] = true;
  }

  std::vector<FaceDetection> faces;
  faces.reserve(detections.size() + tracks_.size());
  std::vector<Track> born;
  for (std::size_t d = 0; d < detections.size(); ++d) {
    if (track_of[d] >= 0) {
      Track& track = tracks_[static_cast<std::size_t>(track_of[d])];
      track.face = smoothed(track, detections[d]);
      track.frames_since_seen = 0;
      track.missed = 0;
      ++track.age;
      faces.push_back(track.face);
      continue;
    }
    Track track;
    track.id = detections[d].track_id >= 0 ? detections[d].track_id : next_id_++;
    track.face = detections[d];
    track.face.track_id = track.id;
    for (int i = 0; i < kValues; ++i) track.filters[i].follow(*value_of(track.face, i), 1.0);
    faces.push_back(track.face);
    born.push_back(std::move(track));
  }
  // The tracks missed: carried while they may be, then dropped.
  std::vector<Track> kept;
  kept.reserve(tracks_.size() + born.size());
  for (std::size_t t = 0; t < tracks_.size(); ++t) {
    Track& track = tracks_[t];
    if (!taken[t]) {
      ++track.missed;
      ++track.frames_since_seen;
      ++track.age;
      if (track.missed > options_.max_missed) continue;
      faces.push_back(predicted(track, track.frames_since_seen));
    }
    kept.push_back(std::move(track));
  }
  for (auto& track : born) kept.push_back(std::move(track));
  tracks_ = std::move(kept);
  return faces;
}

std::vector<FaceDetection> FaceTracker::carry() {
  std::vector<FaceDetection> faces;
  faces.reserve(tracks_.size());
  for (auto& track : tracks_) {
    ++track.frames_since_seen;
    ++track.age;
    faces.push_back(predicted(track, track.frames_since_seen));
  }
  return faces;
}

}  // namespace gpen
