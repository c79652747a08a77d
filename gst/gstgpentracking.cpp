#include "gstgpentracking.h"

#include <algorithm>

namespace {

enum Offset { TRACKING, SMOOTHING, DETECTION_INTERVAL, MAX_MISSED };

}  // namespace

void gpen_tracking_install_properties(GObjectClass* klass, guint first_id) {
  const auto playing = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(klass, first_id + TRACKING,
      g_param_spec_boolean("tracking", "Tracking",
                           "face-mode=full, streams with a frame rate: follow faces from frame to "
                           "frame (track ids in the gpen-faces messages, a face the detector "
                           "misses carried for track-max-missed frames, smoothing); still images "
                           "(framerate 0/1) are never tracked",
                           TRUE, playing));
  g_object_class_install_property(klass, first_id + SMOOTHING,
      g_param_spec_double("smoothing", "Smoothing",
                          "With tracking: how strongly each face's landmarks are smoothed over "
                          "time (a One-Euro filter) so the aligned and restored face holds still "
                          "(0 = the detector's landmarks as they are)",
                          0.0, 1.0, gpen::kDefaultSmoothing, playing));
  g_object_class_install_property(klass, first_id + DETECTION_INTERVAL,
      g_param_spec_uint("detection-interval", "Detection interval",
                        "With tracking: search every N-th frame for faces, the frames between "
                        "get the tracked faces (1 = every frame)",
                        1, 10000, 1, playing));
  g_object_class_install_property(klass, first_id + MAX_MISSED,
      g_param_spec_uint("track-max-missed", "Track max missed",
                        "With tracking: searched frames in a row a face may be missed and "
                        "still be restored where its track expects it (0 = none)",
                        0, 1000, 3, playing));
}

bool gpen_tracking_set_property(GpenTrackingSettings& s, guint first_id, guint prop_id,
                                const GValue* value) {
  if (prop_id < first_id || prop_id >= first_id + kGpenTrackingPropertyCount) return false;
  switch (prop_id - first_id) {
    case TRACKING: s.tracking = g_value_get_boolean(value); break;
    case SMOOTHING: s.smoothing = g_value_get_double(value); break;
    case DETECTION_INTERVAL: s.detection_interval = g_value_get_uint(value); break;
    case MAX_MISSED: s.max_missed = g_value_get_uint(value); break;
  }
  return true;
}

bool gpen_tracking_get_property(const GpenTrackingSettings& s, guint first_id, guint prop_id,
                                GValue* value) {
  if (prop_id < first_id || prop_id >= first_id + kGpenTrackingPropertyCount) return false;
  switch (prop_id - first_id) {
    case TRACKING: g_value_set_boolean(value, s.tracking); break;
    case SMOOTHING: g_value_set_double(value, s.smoothing); break;
    case DETECTION_INTERVAL: g_value_set_uint(value, s.detection_interval); break;
    case MAX_MISSED: g_value_set_uint(value, s.max_missed); break;
  }
  return true;
}

gpen::TrackingOptions gpen_tracking_options(const GpenTrackingSettings& s, gint fps_n) {
  gpen::TrackingOptions o;
  o.enabled = s.tracking && fps_n > 0;
  o.tracker.smoothing = s.smoothing;
  o.tracker.max_missed = static_cast<int>(s.max_missed);
  o.detection_interval = static_cast<int>(std::max(s.detection_interval, 1u));
  return o;
}
