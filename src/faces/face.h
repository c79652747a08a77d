// A detected face: its box, score and five landmarks, in frame pixels.
#pragma once

#include <array>
#include <cstdint>

namespace gpen {

struct Point {
  float x = 0.f;
  float y = 0.f;
};

// Landmarks in RetinaFace's order: left eye, right eye, nose tip, left mouth
// corner, right mouth corner ("left" as seen in the picture).
using Landmarks = std::array<Point, 5>;

struct FaceDetection {
  float x1 = 0.f, y1 = 0.f, x2 = 0.f, y2 = 0.f;  // box corners
  float score = 0.f;
  Landmarks landmarks{};
  bool has_landmarks = false;  // false: estimate them from the box
  // The face's track over the frames of a stream (FaceTracker, or an
  // upstream tracker's ROI id); -1: not tracked.
  std::int64_t track_id = -1;

  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
};

}  // namespace gpen
