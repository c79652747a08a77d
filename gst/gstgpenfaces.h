/* Faces on buffers, shared by gpenfacedetect and gpenenhance:
 *
 * - one GstVideoRegionOfInterestMeta of type "face" per face, with a
 *   "gpen-face" GstStructure param: `score` (double), `landmarks` (array of
 *   10 doubles: x1, y1, ..., x5, y5 for left eye, right eye, nose, left and
 *   right mouth corners) and `box` (4 doubles: the exact x1, y1, x2, y2 the
 *   landmarks belong to; the meta's own box is whole pixels); the meta's
 *   id is the face's track (an upstream tracker's, or ours), 0 when none;
 * - a custom meta "GpenFaceDetectionMeta" (structure: `detector` string,
 *   `faces` uint, `face-data` array of 16 doubles per face: x1, y1, x2, y2,
 *   score, has-landmarks, 5 landmark points) telling that a detector looked
 *   at the frame, so that a frame where it found nobody is not searched
 *   again downstream, and carrying the faces through elements that drop ROI
 *   params (videoconvert in 1.22) and scaling them with the frame.
 */
#pragma once

#include <gst/gst.h>

#include <optional>
#include <vector>

#include "faces/face.h"

#define GPEN_FACE_ROI_TYPE "face"
#define GPEN_FACE_PARAM_NAME "gpen-face"
#define GPEN_DETECTION_META_NAME "GpenFaceDetectionMeta"

/* Registers the custom meta; call from plugin_init. */
void gpen_faces_register_meta(void);

/* Adds a face ROI meta per face and the detection marker. The buffer must be
 * writable. */
void gpen_faces_attach(GstBuffer* buffer, const std::vector<gpen::FaceDetection>& faces,
                       const char* detector);

/* The faces upstream found: from face ROI metas (ours, with landmarks, or any
 * other detector's, boxes only), an empty list when a detector marked the
 * frame and found nobody, nullopt when nobody looked. Landmarks are mapped
 * along when an element such as videoscale moved the meta's box; a face ROI
 * whose param was dropped takes the marker's face it overlaps (IoU >= 0.5). */
std::optional<std::vector<gpen::FaceDetection>> gpen_faces_from_buffer(GstBuffer* buffer);

/* A GstStructure "face" per face for bus messages: x, y, width, height (int),
 * score (double), and track-id (int64) for a tracked face. Returns a GST_TYPE_ARRAY value the caller unsets. */
void gpen_faces_to_value(const std::vector<gpen::FaceDetection>& faces, GValue* array);
