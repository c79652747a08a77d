#include "gstgpenfaces.h"

#include <gst/video/video.h>

#include <algorithm>
#include <cmath>

namespace {

// Each face as kFaceValues doubles in the marker's "face-data" field: x1, y1,
// x2, y2, score, has-landmarks (0 or 1), then 5 landmark points (x, y).
// ROI params do not survive every element (videoconvert in 1.22 copies a
// region-of-interest meta without them); the marker, with this transform,
// does, so its copy of the faces is there when the params are gone.
constexpr guint kFaceValues = 16;
constexpr const char* kFaceData = "face-data";

// Scaling or copying a frame keeps who looked at it and the faces (scaled
// along); nothing else applies.
gboolean transform_detection_meta(GstBuffer* transbuf, GstCustomMeta* meta, GstBuffer* /*buffer*/,
                                  GQuark type, gpointer data, gpointer /*user_data*/) {
  const bool scale = type == gst_video_meta_transform_scale_get_quark();
  if (!GST_META_TRANSFORM_IS_COPY(type) && !scale) return FALSE;
  // A copy of part of the buffer: the faces' coordinates would not apply.
  const bool region = !scale && static_cast<GstMetaTransformCopy*>(data)->region;
  GstCustomMeta* copy = gst_buffer_add_custom_meta(transbuf, GPEN_DETECTION_META_NAME);
  if (!copy) return FALSE;
  GstStructure* target = gst_custom_meta_get_structure(copy);
  const GstStructure* source = gst_custom_meta_get_structure(meta);
  for (gint i = 0; i < gst_structure_n_fields(source); ++i) {
    const gchar* name = gst_structure_nth_field_name(source, i);
    gst_structure_set_value(target, name, gst_structure_get_value(source, name));
  }
  if (region) gst_structure_remove_field(target, kFaceData);
  const GValue* faces = gst_structure_get_value(source, kFaceData);
  if (scale && faces && GST_VALUE_HOLDS_ARRAY(faces) && data != nullptr) {
    const auto* transform = static_cast<GstVideoMetaTransform*>(data);
    const double sx = static_cast<double>(GST_VIDEO_INFO_WIDTH(transform->out_info)) /
                      std::max(1, GST_VIDEO_INFO_WIDTH(transform->in_info));
    const double sy = static_cast<double>(GST_VIDEO_INFO_HEIGHT(transform->out_info)) /
                      std::max(1, GST_VIDEO_INFO_HEIGHT(transform->in_info));
    GValue scaled = G_VALUE_INIT;
    gst_value_array_init(&scaled, gst_value_array_get_size(faces));
    for (guint i = 0; i < gst_value_array_get_size(faces); ++i) {
      const GValue* v = gst_value_array_get_value(faces, i);
      const guint k = i % kFaceValues;
      double value = G_VALUE_HOLDS_DOUBLE(v) ? g_value_get_double(v) : 0.0;
      if (k < 4) value *= k % 2 == 0 ? sx : sy;                   // the box
      else if (k >= 6) value *= (k - 6) % 2 == 0 ? sx : sy;       // the landmarks
      GValue item = G_VALUE_INIT;
      g_value_init(&item, G_TYPE_DOUBLE);
      g_value_set_double(&item, value);
      gst_value_array_append_and_take_value(&scaled, &item);
    }
    gst_structure_take_value(target, kFaceData, &scaled);
  }
  return TRUE;
}

GValue double_array(const float* values, int count) {
  GValue array = G_VALUE_INIT;
  gst_value_array_init(&array, count);
  for (int i = 0; i < count; ++i) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_DOUBLE);
    g_value_set_double(&v, values[i]);
    gst_value_array_append_and_take_value(&array, &v);
  }
  return array;
}

// `count` finite numbers from `array`, starting at `first`.
bool read_doubles(const GValue* array, guint first, double* out, guint count) {
  for (guint i = 0; i < count; ++i) {
    const GValue* v = gst_value_array_get_value(array, first + i);
    if (G_VALUE_HOLDS_DOUBLE(v))
      out[i] = g_value_get_double(v);
    else if (G_VALUE_HOLDS_FLOAT(v))
      out[i] = g_value_get_float(v);
    else
      return false;
    if (!std::isfinite(out[i])) return false;
  }
  return true;
}

// A field that is an array of exactly `count` finite numbers.
bool read_doubles(const GstStructure* s, const char* field, double* out, guint count) {
  const GValue* array = gst_structure_get_value(s, field);
  return array && GST_VALUE_HOLDS_ARRAY(array) && gst_value_array_get_size(array) == count &&
         read_doubles(array, 0, out, count);
}

}  // namespace

void gpen_faces_register_meta(void) {
  // Tagged like a region-of-interest meta: scaling elements (videoscale)
  // then call its transform with the scale, and elements that flip or crop
  // without knowing it drop it along with the face ROIs, so downstream
  // detects again instead of trusting faces that moved.
  static const gchar* tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_ORIENTATION_STR,
                                GST_META_TAG_VIDEO_SIZE_STR, nullptr};
  if (!gst_meta_get_info(GPEN_DETECTION_META_NAME))
    gst_meta_register_custom(GPEN_DETECTION_META_NAME, tags, transform_detection_meta, nullptr,
                             nullptr);
}

void gpen_faces_attach(GstBuffer* buffer, const std::vector<gpen::FaceDetection>& faces,
                       const char* detector) {
  for (const auto& face : faces) {
    // Whole pixels that cover the exact box.
    const double x = std::floor(face.x1), y = std::floor(face.y1);
    const auto w = static_cast<guint>(std::max(1.0, std::ceil(face.x2) - x));
    const auto h = static_cast<guint>(std::max(1.0, std::ceil(face.y2) - y));
    GstVideoRegionOfInterestMeta* roi = gst_buffer_add_video_region_of_interest_meta(
        buffer, GPEN_FACE_ROI_TYPE, static_cast<guint>(std::max(0.0, x)),
        static_cast<guint>(std::max(0.0, y)), w, h);
    // A tracked face's track, as trackers number their regions.
    if (face.track_id > 0 && face.track_id <= G_MAXINT) roi->id = static_cast<gint>(face.track_id);
    float points[10];
    for (int i = 0; i < 5; ++i) {
      points[2 * i] = face.landmarks[i].x;
      points[2 * i + 1] = face.landmarks[i].y;
    }
    const float box[4] = {face.x1, face.y1, face.x2, face.y2};
    GValue landmarks = double_array(points, 10), exact = double_array(box, 4);
    GstStructure* param = gst_structure_new(GPEN_FACE_PARAM_NAME, "score", G_TYPE_DOUBLE,
                                            static_cast<double>(face.score), nullptr);
    if (face.has_landmarks) gst_structure_take_value(param, "landmarks", &landmarks);
    else g_value_unset(&landmarks);
    gst_structure_take_value(param, "box", &exact);
    gst_video_region_of_interest_meta_add_param(roi, param);
  }
  GstCustomMeta* marker = gst_buffer_add_custom_meta(buffer, GPEN_DETECTION_META_NAME);
  if (marker) {
    GstStructure* s = gst_custom_meta_get_structure(marker);
    gst_structure_set(s, "detector", G_TYPE_STRING, detector, "faces", G_TYPE_UINT,
                      static_cast<guint>(faces.size()), nullptr);
    std::vector<float> values;
    values.reserve(faces.size() * kFaceValues);
    for (const auto& face : faces) {
      values.insert(values.end(), {face.x1, face.y1, face.x2, face.y2, face.score,
                                   face.has_landmarks ? 1.f : 0.f});
      for (const auto& point : face.landmarks) values.insert(values.end(), {point.x, point.y});
    }
    GValue data = double_array(values.data(), static_cast<int>(values.size()));
    gst_structure_take_value(s, kFaceData, &data);
  }
}

namespace {

// The faces the marker carries ("face-data"), if any.
std::vector<gpen::FaceDetection> marker_faces(GstBuffer* buffer) {
  std::vector<gpen::FaceDetection> faces;
  GstCustomMeta* marker = gst_buffer_get_custom_meta(buffer, GPEN_DETECTION_META_NAME);
  if (!marker) return faces;
  const GValue* data = gst_structure_get_value(gst_custom_meta_get_structure(marker), kFaceData);
  if (!data || !GST_VALUE_HOLDS_ARRAY(data) || gst_value_array_get_size(data) % kFaceValues != 0)
    return faces;
  for (guint at = 0; at < gst_value_array_get_size(data); at += kFaceValues) {
    double v[kFaceValues];
    if (!read_doubles(data, at, v, kFaceValues)) continue;
    gpen::FaceDetection face;
    face.x1 = static_cast<float>(v[0]), face.y1 = static_cast<float>(v[1]);
    face.x2 = static_cast<float>(v[2]), face.y2 = static_cast<float>(v[3]);
    face.score = static_cast<float>(v[4]);
    face.has_landmarks = v[5] != 0.0;
    for (int i = 0; i < 5; ++i)
      face.landmarks[i] = {static_cast<float>(v[6 + 2 * i]), static_cast<float>(v[7 + 2 * i])};
    faces.push_back(face);
  }
  return faces;
}

double overlap(const gpen::FaceDetection& a, const gpen::FaceDetection& b) {
  const double w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const double h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0.0;
  const double both = w * h;
  return both / (static_cast<double>(a.width()) * a.height() + static_cast<double>(b.width()) * b.height() - both);
}

}  // namespace

std::optional<std::vector<gpen::FaceDetection>> gpen_faces_from_buffer(GstBuffer* buffer) {
  const GQuark face_type = g_quark_from_static_string(GPEN_FACE_ROI_TYPE);
  std::vector<gpen::FaceDetection> faces;
  std::optional<std::vector<gpen::FaceDetection>> marked;  // read when first needed
  gpointer state = nullptr;
  GstMeta* meta = nullptr;
  while ((meta = gst_buffer_iterate_meta_filtered(buffer, &state,
                                                  GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta);
    if (roi->roi_type != face_type) continue;
    gpen::FaceDetection face;
    face.x1 = static_cast<float>(roi->x);
    face.y1 = static_cast<float>(roi->y);
    // In double: x + w may not fit in a guint.
    face.x2 = static_cast<float>(static_cast<double>(roi->x) + roi->w);
    face.y2 = static_cast<float>(static_cast<double>(roi->y) + roi->h);
    face.score = 1.f;
    // An upstream tracker's id (gvatrack, nvtracker number their regions):
    // the face's track. 0 is what a region nobody numbered has.
    const gint track = roi->id;
    if (const GstStructure* param = gst_video_region_of_interest_meta_get_param(roi, GPEN_FACE_PARAM_NAME)) {
      double score = 1.0, box[4], points[10];
      if (gst_structure_get_double(param, "score", &score)) face.score = static_cast<float>(score);
      const bool have_box = read_doubles(param, "box", box, 4);
      if (read_doubles(param, "landmarks", points, 10)) {
        // The landmarks belong to the exact box; if an element moved or
        // scaled the meta's box since, move them the same way.
        double sx = 1.0, sy = 1.0, ox = 0.0, oy = 0.0;
        if (have_box) {
          const double bx = std::floor(box[0]), by = std::floor(box[1]);
          const double bw = std::max(1.0, std::ceil(box[2]) - bx);
          const double bh = std::max(1.0, std::ceil(box[3]) - by);
          if (bx != roi->x || by != roi->y || bw != roi->w || bh != roi->h) {
            sx = roi->w / bw, sy = roi->h / bh;
            ox = roi->x - bx * sx, oy = roi->y - by * sy;
          } else {
            face.x1 = static_cast<float>(box[0]), face.y1 = static_cast<float>(box[1]);
            face.x2 = static_cast<float>(box[2]), face.y2 = static_cast<float>(box[3]);
          }
        }
        for (int i = 0; i < 5; ++i)
          face.landmarks[i] = {static_cast<float>(points[2 * i] * sx + ox),
                               static_cast<float>(points[2 * i + 1] * sy + oy)};
        face.has_landmarks = true;
      } else if (have_box && std::floor(box[0]) == roi->x && std::floor(box[1]) == roi->y) {
        face.x1 = static_cast<float>(box[0]), face.y1 = static_cast<float>(box[1]);
        face.x2 = static_cast<float>(box[2]), face.y2 = static_cast<float>(box[3]);
      }
    } else {
      // No param (an element dropped it, or another detector's box): the
      // marker's face that this box covers, if any.
      if (!marked) marked = marker_faces(buffer);
      const gpen::FaceDetection* best = nullptr;
      double best_overlap = 0.5;
      for (const auto& candidate : *marked) {
        const double o = overlap(face, candidate);
        if (o >= best_overlap) best = &candidate, best_overlap = o;
      }
      if (best) face = *best;
    }
    if (track > 0) face.track_id = track;
    faces.push_back(face);
  }
  if (!faces.empty() || gst_buffer_get_custom_meta(buffer, GPEN_DETECTION_META_NAME))
    return faces;
  return std::nullopt;
}

void gpen_faces_to_value(const std::vector<gpen::FaceDetection>& faces, GValue* array) {
  g_value_init(array, GST_TYPE_ARRAY);
  for (const auto& face : faces) {
    GstStructure* s = gst_structure_new(
        "face", "x", G_TYPE_INT, static_cast<gint>(std::lround(face.x1)), "y", G_TYPE_INT,
        static_cast<gint>(std::lround(face.y1)), "width", G_TYPE_INT,
        static_cast<gint>(std::lround(face.width())), "height", G_TYPE_INT,
        static_cast<gint>(std::lround(face.height())), "score", G_TYPE_DOUBLE,
        static_cast<double>(face.score), nullptr);
    if (face.track_id >= 0)
      gst_structure_set(s, "track-id", G_TYPE_INT64, static_cast<gint64>(face.track_id), nullptr);
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed(&v, s);
    gst_value_array_append_and_take_value(array, &v);
  }
}
