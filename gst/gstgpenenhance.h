/* gpenenhance: restores faces with GPEN, batching frames for the network. */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_GPEN_ENHANCE (gst_gpen_enhance_get_type())
G_DECLARE_FINAL_TYPE(GstGpenEnhance, gst_gpen_enhance, GST, GPEN_ENHANCE, GstBaseTransform)

#define GST_TYPE_GPEN_FACE_MODE (gst_gpen_face_mode_get_type())
GType gst_gpen_face_mode_get_type(void);

#define GST_TYPE_GPEN_PRECISION (gst_gpen_precision_get_type())
GType gst_gpen_precision_get_type(void);

#define GST_TYPE_GPEN_MESSAGES (gst_gpen_messages_get_type())
GType gst_gpen_messages_get_type(void);

typedef enum {
  GST_GPEN_FACE_MODE_ALIGNED = 0,
  GST_GPEN_FACE_MODE_FULL = 1,
} GstGpenFaceMode;

typedef enum {
  GST_GPEN_MESSAGES_NONE = 0,
  GST_GPEN_MESSAGES_FRAME = 1,
  GST_GPEN_MESSAGES_BATCH = 2,
} GstGpenMessages;

typedef enum {
  GST_GPEN_PRECISION_AUTO = 0,
  GST_GPEN_PRECISION_FP32 = 1,
  GST_GPEN_PRECISION_FP16 = 2,
  GST_GPEN_PRECISION_BF16 = 3,
} GstGpenPrecision;

GST_ELEMENT_REGISTER_DECLARE(gpenenhance);

G_END_DECLS
