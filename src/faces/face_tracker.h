// Faces followed from frame to frame of one stream: each detected face is
// matched to a track (box overlap and landmark distance, greedily, best
// pairs first), keeps its track's id, and gets landmarks smoothed over time
// (a One-Euro filter per coordinate), so that its alignment, and with it the
// restored face, holds still where the detector's landmarks jitter. A track
// the detector misses is carried, where its speed takes it, for a few
// frames; frames that are not searched (a detection interval) get every
// track's face where it is expected. Frames must come in stream order.
#pragma once

#include <cstdint>
#include <vector>

#include "faces/face.h"
#include "faces/one_euro_filter.h"

namespace gpen {

struct TrackerOptions {
  // 0: faces keep the detector's landmarks and box exactly; up to 1: more
  // smoothing (smoothing_params).
  double smoothing = 0.0;
  // Detected frames in a row a track may be missed and still be carried.
  int max_missed = 3;
  // A detection and a track match when their boxes overlap at least this
  // much (IoU), or their landmarks are closer than max_landmark_distance
  // face sizes on average.
  double min_overlap = 0.3;
  double max_landmark_distance = 0.35;
};

// What the batcher does with a stream's faces over time.
struct TrackingOptions {
  bool enabled = false;        // off: every frame on its own, as detected
  TrackerOptions tracker;
  int detection_interval = 1;  // search every N-th frame, carry the tracks between
};

class FaceTracker {
 public:
  explicit FaceTracker(TrackerOptions options = {});

  // Takes effect from the next frame; the tracks are kept.
  void set_options(const TrackerOptions& options) { options_ = options; }
  const TrackerOptions& options() const { return options_; }

  // The faces of the next frame, searched: every detection with its track's
  // id (a detection's own track_id >= 0, from an upstream tracker, is kept
  // and names its track) and its smoothed landmarks and box, in the order
  // given, then the tracks missed in this frame, carried (at most
  // max_missed detected frames in a row).
  std::vector<FaceDetection> update(const std::vector<FaceDetection>& detections);
  // The faces of the next frame, not searched: each track's face where its
  // speed takes it. No track ages.
  std::vector<FaceDetection> carry();
  // Forgets every track (a seek, a flush, new caps); ids start again.
  void reset();

  std::size_t tracks() const { return tracks_.size(); }

 private:
  // Box corners then landmarks.
  static constexpr int kValues = 14;
  struct Track {
    std::int64_t id = 0;
    FaceDetection face;          // as last output (smoothed)
    OneEuroFilter filters[kValues];
    int age = 0;                 // frames since it began
    int missed = 0;              // detected frames in a row without it
    int frames_since_seen = 0;   // frames since its last detection
  };
  FaceDetection predicted(const Track& track, int frames_ahead) const;
  FaceDetection smoothed(Track& track, const FaceDetection& detection);

  TrackerOptions options_;
  std::vector<Track> tracks_;
  std::int64_t next_id_ = 1;
};

// Intersection over union of two faces' boxes (0 when either is empty).
double box_overlap(const FaceDetection& a, const FaceDetection& b);

}  // namespace gpen
