#include "gstgpendetectorprops.h"

#include <gst/gst.h>

#include <algorithm>

namespace {

enum Offset { DETECTOR, MODEL, THRESHOLD, MAX_SIZE, MAX_FACES };

// The reference detects frames whose long side is over 1500 px at 1000 px.
constexpr guint kReferenceTarget = 1000;

}  // namespace

GType gst_gpen_detector_get_type(void) {
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_GPEN_DETECTOR_AUTO, "RetinaFace when detector-model is set, else the Haar cascade",
       "auto"},
      {GST_GPEN_DETECTOR_RETINAFACE, "RetinaFace (needs detector-model)", "retinaface"},
      {GST_GPEN_DETECTOR_CASCADE, "OpenCV's Haar cascades (CPU, no model needed)", "cascade"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstGpenDetector", values));
  return type;
}

gpen::DetectorOptions GpenDetectorSettings::options() const {
  gpen::DetectorOptions o;
  switch (detector) {
    case GST_GPEN_DETECTOR_RETINAFACE: o.kind = gpen::DetectorKind::RetinaFace; break;
    case GST_GPEN_DETECTOR_CASCADE: o.kind = gpen::DetectorKind::Cascade; break;
    default: o.kind = gpen::DetectorKind::Auto; break;
  }
  o.model_path = model;
  o.threshold = static_cast<float>(threshold);
  o.resize_limit = max_size == 0 ? G_MAXINT : static_cast<int>(max_size);
  o.resize_target = static_cast<int>(std::min(kReferenceTarget, std::max(max_size, 1u)));
  return o;
}

bool gpen_property_change_refused(GstElement* element, GParamSpec* pspec) {
  if (!(pspec->flags & GST_PARAM_MUTABLE_READY)) return false;
  GST_OBJECT_LOCK(element);
  const bool running =
      GST_STATE(element) > GST_STATE_READY || GST_STATE_PENDING(element) > GST_STATE_READY;
  GST_OBJECT_UNLOCK(element);
  if (!running) return false;
  // Logged without the object lock: naming the object takes it.
  GST_WARNING_OBJECT(element, "property '%s' can only be changed in the NULL or READY state",
                     pspec->name);
  return true;
}

void gpen_detector_install_properties(GObjectClass* klass, guint first_id) {
  const auto ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                              GST_PARAM_MUTABLE_READY);
  const auto playing = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(klass, first_id + DETECTOR,
      g_param_spec_enum("detector", "Detector", "Face detector for frames that come without face metas",
                        GST_TYPE_GPEN_DETECTOR, GST_GPEN_DETECTOR_AUTO, ready));
  g_object_class_install_property(klass, first_id + MODEL,
      g_param_spec_string("detector-model", "Detector model",
                          "Path of a RetinaFace checkpoint (RetinaFace-R50.pth or mobilenet0.25)",
                          nullptr, ready));
  g_object_class_install_property(klass, first_id + THRESHOLD,
      g_param_spec_double("detection-threshold", "Detection threshold",
                          "RetinaFace: keep faces whose score is above this", 0.0, 1.0, 0.9, ready));
  g_object_class_install_property(klass, first_id + MAX_SIZE,
      g_param_spec_uint("detection-max-size", "Detection max size",
                        "Frames whose long side is over this are detected downscaled (to 1000 px, "
                        "or this if smaller) and the faces scaled back, by either detector; "
                        "0 = never",
                        0, G_MAXINT, 1500, ready));
  g_object_class_install_property(klass, first_id + MAX_FACES,
      g_param_spec_uint("max-faces", "Max faces",
                        "Faces handled per frame, largest first (0 = all)", 0, G_MAXINT, 0, playing));
}

bool gpen_detector_set_property(GpenDetectorSettings& s, guint first_id, guint prop_id,
                                const GValue* value) {
  if (prop_id < first_id || prop_id >= first_id + kGpenDetectorPropertyCount) return false;
  switch (prop_id - first_id) {
    case DETECTOR: s.detector = static_cast<GstGpenDetector>(g_value_get_enum(value)); break;
    case MODEL: {
      const gchar* path = g_value_get_string(value);
      s.model = path ? path : "";
      break;
    }
    case THRESHOLD: s.threshold = g_value_get_double(value); break;
    case MAX_SIZE: s.max_size = g_value_get_uint(value); break;
    case MAX_FACES: s.max_faces = g_value_get_uint(value); break;
  }
  return true;
}

bool gpen_detector_get_property(const GpenDetectorSettings& s, guint first_id, guint prop_id,
                                GValue* value) {
  if (prop_id < first_id || prop_id >= first_id + kGpenDetectorPropertyCount) return false;
  switch (prop_id - first_id) {
    case DETECTOR: g_value_set_enum(value, s.detector); break;
    case MODEL: g_value_set_string(value, s.model.empty() ? nullptr : s.model.c_str()); break;
    case THRESHOLD: g_value_set_double(value, s.threshold); break;
    case MAX_SIZE: g_value_set_uint(value, s.max_size); break;
    case MAX_FACES: g_value_set_uint(value, s.max_faces); break;
  }
  return true;
}
