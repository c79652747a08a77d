/* gpenfacedetect: finds faces with RetinaFace or the Haar-cascade fallback
 * and attaches one GstVideoRegionOfInterestMeta of type "face" per face, with
 * a "gpen-face" param holding the score and the five landmarks (see
 * gstgpenfaces.h). Pixels pass untouched. gpenenhance downstream restores
 * exactly these faces, so detection can run in its own thread (a queue
 * between them) or on another device.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstgpenfacedetect.h"

#include <gst/video/video.h>

#include <memory>
#include <string>

#include "faces/face_detector.h"
#include "gstgpendetectorprops.h"
#include "gstgpenevents.h"
#include "gstgpenfaces.h"
#include "gstgpenframe.h"
#include "gstgpenload.h"
#include "runtime/cpu_tensor_cache.h"
#include "runtime/pixel_transfer.h"

GST_DEBUG_CATEGORY_STATIC(gst_gpen_face_detect_debug);
#define GST_CAT_DEFAULT gst_gpen_face_detect_debug

namespace {

constexpr const char* kDefaultDevice = "auto";

enum {
  PROP_0,
  PROP_DEVICE,
  PROP_DETECTOR_FIRST,  // the shared detector properties follow
};

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GPEN_VIDEO_CAPS));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GPEN_VIDEO_CAPS));

struct Settings {
  std::string device = kDefaultDevice;
  GpenDetectorSettings detection;
};

}  // namespace

struct GpenFaceDetectPrivate {
  Settings settings;  // guarded by the object lock
  // Set in start(), cleared in stop(); used from the streaming thread.
  std::unique_ptr<gpen::FaceDetector> detector;
  std::string detector_name;
  GstVideoInfo info;
};

struct _GstGpenFaceDetect {
  GstBaseTransform parent;
  GpenFaceDetectPrivate* priv;
};

G_DEFINE_TYPE(GstGpenFaceDetect, gst_gpen_face_detect, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(gpenfacedetect, "gpenfacedetect", GST_RANK_NONE,
                            GST_TYPE_GPEN_FACE_DETECT);

static gboolean gst_gpen_face_detect_start(GstBaseTransform* trans) {
  GstGpenFaceDetect* self = GST_GPEN_FACE_DETECT(trans);
  GpenFaceDetectPrivate* priv = self->priv;
  GST_OBJECT_LOCK(self);
  const Settings settings = priv->settings;
  GST_OBJECT_UNLOCK(self);
  const auto device = gpen_resolve_device(GST_ELEMENT(self), settings.device);
  if (!device) return FALSE;
  priv->detector = gpen_create_detector(GST_ELEMENT(self), settings.detection, *device);
  if (!priv->detector) return FALSE;
  priv->detector_name = priv->detector->describe();
  GST_INFO_OBJECT(self, "detecting faces with %s", priv->detector_name.c_str());
  return TRUE;
}

static gboolean gst_gpen_face_detect_stop(GstBaseTransform* trans) {
  GpenFaceDetectPrivate* priv = GST_GPEN_FACE_DETECT(trans)->priv;
  priv->detector.reset();
  gpen::release_cpu_tensor_cache();  // the detector's working set, kept between frames
  return TRUE;
}

static gboolean gst_gpen_face_detect_set_caps(GstBaseTransform* trans, GstCaps* incaps,
                                              GstCaps* /*outcaps*/) {
  GpenFaceDetectPrivate* priv = GST_GPEN_FACE_DETECT(trans)->priv;
  return gst_video_info_from_caps(&priv->info, incaps);
}

static GstFlowReturn gst_gpen_face_detect_transform_ip(GstBaseTransform* trans, GstBuffer* buffer) {
  GstGpenFaceDetect* self = GST_GPEN_FACE_DETECT(trans);
  GpenFaceDetectPrivate* priv = self->priv;
  GST_OBJECT_LOCK(self);
  const int max_faces = static_cast<int>(priv->settings.detection.max_faces);
  GST_OBJECT_UNLOCK(self);

  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &priv->info, buffer, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map a video frame"),
                      ("buffer %" GST_PTR_FORMAT, buffer));
    return GST_FLOW_ERROR;
  }
  std::vector<gpen::FaceDetection> faces;
  try {
    // On CUDA the frame's bytes cross once and are unpacked (or converted) there.
    torch::Tensor rgb;
    try {
      rgb = gpen_frame_rgb(&frame, priv->detector->device());
    } catch (...) {
      gst_video_frame_unmap(&frame);
      throw;
    }
    gst_video_frame_unmap(&frame);
    faces = gpen::select_faces(priv->detector->detect(rgb.unsqueeze(0))[0],
                               GST_VIDEO_INFO_WIDTH(&priv->info),
                               GST_VIDEO_INFO_HEIGHT(&priv->info), max_faces);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("Face detection failed"), ("%s", e.what()));
    return GST_FLOW_ERROR;
  }
  GST_LOG_OBJECT(self, "%zu face(s) in %" GST_PTR_FORMAT, faces.size(), buffer);
  gpen_faces_attach(buffer, faces, priv->detector_name.c_str());
  return GST_FLOW_OK;
}

static void gst_gpen_face_detect_set_property(GObject* object, guint prop_id, const GValue* value,
                                              GParamSpec* pspec) {
  GstGpenFaceDetect* self = GST_GPEN_FACE_DETECT(object);
  Settings& s = self->priv->settings;
  if (gpen_property_change_refused(GST_ELEMENT(self), pspec)) return;
  GST_OBJECT_LOCK(self);
  if (!gpen_detector_set_property(s.detection, PROP_DETECTOR_FIRST, prop_id, value)) {
    if (prop_id == PROP_DEVICE) {
      const gchar* device = g_value_get_string(value);
      s.device = device ? device : kDefaultDevice;
    } else {
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_gpen_face_detect_get_property(GObject* object, guint prop_id, GValue* value,
                                              GParamSpec* pspec) {
  GstGpenFaceDetect* self = GST_GPEN_FACE_DETECT(object);
  const Settings& s = self->priv->settings;
  GST_OBJECT_LOCK(self);
  if (!gpen_detector_get_property(s.detection, PROP_DETECTOR_FIRST, prop_id, value)) {
    if (prop_id == PROP_DEVICE)
      g_value_set_string(value, s.device.c_str());
    else
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_gpen_face_detect_finalize(GObject* object) {
  GstGpenFaceDetect* self = GST_GPEN_FACE_DETECT(object);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(gst_gpen_face_detect_parent_class)->finalize(object);
}

static void gst_gpen_face_detect_class_init(GstGpenFaceDetectClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_gpen_face_detect_debug, "gpenfacedetect", 0,
                          "GPEN face detection");

  gobject_class->set_property = gst_gpen_face_detect_set_property;
  gobject_class->get_property = gst_gpen_face_detect_get_property;
  gobject_class->finalize = gst_gpen_face_detect_finalize;

  g_object_class_install_property(gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device", "Where RetinaFace runs: auto, cpu, cuda or cuda:N",
                          kDefaultDevice,
                          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                   GST_PARAM_MUTABLE_READY)));
  gpen_detector_install_properties(gobject_class, PROP_DETECTOR_FIRST);

  gst_element_class_set_static_metadata(element_class, "GPEN face detection",
      "Filter/Effect/Video",
      "Finds faces (RetinaFace, or OpenCV's Haar cascades without a model) and attaches them as "
      "face region-of-interest metas with landmarks",
      "gst-gpen developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->start = GST_DEBUG_FUNCPTR(gst_gpen_face_detect_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_gpen_face_detect_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_gpen_face_detect_set_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_gpen_face_detect_transform_ip);
}

static void gst_gpen_face_detect_init(GstGpenFaceDetect* self) {
  self->priv = new GpenFaceDetectPrivate();
  gst_video_info_init(&self->priv->info);
  // Only metas are added: the pixels are never written.
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gpen_transform_flush_unforwardable_events(GST_BASE_TRANSFORM(self));
}
