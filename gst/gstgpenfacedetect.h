/* gpenfacedetect: finds faces and attaches them as face ROI metas. */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_GPEN_FACE_DETECT (gst_gpen_face_detect_get_type())
G_DECLARE_FINAL_TYPE(GstGpenFaceDetect, gst_gpen_face_detect, GST, GPEN_FACE_DETECT,
                     GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(gpenfacedetect);

G_END_DECLS
