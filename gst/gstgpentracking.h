/* gpenenhance's face-tracking properties (face-mode=full): tracking,
 * smoothing, detection-interval and track-max-missed. The element installs
 * them from its own first property id, forwards set/get_property for ids in
 * that range (object lock held), and hands the batcher what they mean for
 * the stream's frame rate before each frame. */
#pragma once

#include <gst/gst.h>

#include "faces/face_tracker.h"
#include "faces/one_euro_filter.h"

struct GpenTrackingSettings {
  gboolean tracking = TRUE;
  double smoothing = gpen::kDefaultSmoothing;
  guint detection_interval = 1;
  guint max_missed = 3;
};

/* Number of properties installed. */
constexpr guint kGpenTrackingPropertyCount = 4;

void gpen_tracking_install_properties(GObjectClass* klass, guint first_id);
bool gpen_tracking_set_property(GpenTrackingSettings& settings, guint first_id, guint prop_id,
                                const GValue* value);
bool gpen_tracking_get_property(const GpenTrackingSettings& settings, guint first_id,
                                guint prop_id, GValue* value);

/* What the batcher does over time for a stream of frame rate fps_n/fps_d:
 * tracking, smoothing and the detection interval as set where the stream has
 * a frame rate; frames of a stream without one (still images, 0/1) are
 * unrelated pictures, each on its own, as without tracking. */
gpen::TrackingOptions gpen_tracking_options(const GpenTrackingSettings& settings, gint fps_n);
