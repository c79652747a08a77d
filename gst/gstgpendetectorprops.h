/* The face-detector properties that gpenenhance and gpenfacedetect share:
 * detector, detector-model, detection-threshold, detection-max-size and
 * max-faces. Each element installs them from its own first property id and
 * forwards set/get_property for ids in that range (object lock held). */
#pragma once

#include <gst/gst.h>

#include <string>

#include "faces/face_detector.h"

G_BEGIN_DECLS

#define GST_TYPE_GPEN_DETECTOR (gst_gpen_detector_get_type())
GType gst_gpen_detector_get_type(void);

typedef enum {
  GST_GPEN_DETECTOR_AUTO = 0,
  GST_GPEN_DETECTOR_RETINAFACE = 1,
  GST_GPEN_DETECTOR_CASCADE = 2,
} GstGpenDetector;

G_END_DECLS

struct GpenDetectorSettings {
  GstGpenDetector detector = GST_GPEN_DETECTOR_AUTO;
  std::string model;
  double threshold = 0.9;
  guint max_size = 1500;
  guint max_faces = 0;

  gpen::DetectorOptions options() const;
};

/* Whether a GST_PARAM_MUTABLE_READY property is asked to change while the
 * element is running (PAUSED or PLAYING, or going there): the change is
 * refused with a warning. Called without the object lock. */
bool gpen_property_change_refused(GstElement* element, GParamSpec* pspec);

/* Number of properties installed. */
constexpr guint kGpenDetectorPropertyCount = 5;

/* Installs the properties with ids first_id .. first_id + 4. */
void gpen_detector_install_properties(GObjectClass* klass, guint first_id);
/* Set or get property `prop_id` when it is one of them; false otherwise. */
bool gpen_detector_set_property(GpenDetectorSettings& settings, guint first_id, guint prop_id,
                                const GValue* value);
bool gpen_detector_get_property(const GpenDetectorSettings& settings, guint first_id,
                                guint prop_id, GValue* value);
