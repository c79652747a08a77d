#include "gstgpenmessages.h"

#include "gstgpenfaces.h"

namespace {

GstStructure* frame_structure(const GstSegment* segment, const char* name, GstBuffer* buffer,
                              const std::vector<gpen::FaceDetection>& faces) {
  const GstClockTime pts = GST_BUFFER_PTS(buffer);
  GstClockTime running = GST_CLOCK_TIME_NONE, stream = GST_CLOCK_TIME_NONE;
  if (segment->format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(pts)) {
    running = gst_segment_to_running_time(segment, GST_FORMAT_TIME, pts);
    stream = gst_segment_to_stream_time(segment, GST_FORMAT_TIME, pts);
  }
  GValue boxes = G_VALUE_INIT;
  gpen_faces_to_value(faces, &boxes);
  GstStructure* s = gst_structure_new(
      name, "timestamp", G_TYPE_UINT64, pts, "stream-time", G_TYPE_UINT64, stream,
      "running-time", G_TYPE_UINT64, running, "duration", G_TYPE_UINT64,
      GST_BUFFER_DURATION(buffer), "offset", G_TYPE_UINT64, GST_BUFFER_OFFSET(buffer), "faces",
      G_TYPE_UINT, static_cast<guint>(faces.size()), nullptr);
  gst_structure_take_value(s, "boxes", &boxes);
  return s;
}

}  // namespace

void gpen_post_faces(GstElement* element, const GstSegment* segment, GstGpenMessages mode,
                     const GpenFacesOfFrames& frames) {
  if (frames.empty() || mode == GST_GPEN_MESSAGES_NONE) return;
  if (mode == GST_GPEN_MESSAGES_FRAME) {
    for (const auto& [buffer, faces] : frames)
      gst_element_post_message(
          element, gst_message_new_element(GST_OBJECT(element), frame_structure(
                                                                    segment, "gpen-faces", buffer, faces)));
    return;
  }
  GValue list = G_VALUE_INIT;
  gst_value_array_init(&list, static_cast<guint>(frames.size()));
  guint total = 0;
  for (const auto& [buffer, faces] : frames) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed(&v, frame_structure(segment, "frame", buffer, faces));
    gst_value_array_append_and_take_value(&list, &v);
    total += static_cast<guint>(faces.size());
  }
  GstStructure* s = gst_structure_new("gpen-batch", "frames", G_TYPE_UINT,
                                      static_cast<guint>(frames.size()), "faces", G_TYPE_UINT,
                                      total, nullptr);
  gst_structure_take_value(s, "frame-list", &list);
  gst_element_post_message(element, gst_message_new_element(GST_OBJECT(element), s));
}

void gpen_post_stats(GstElement* element, const gpen::PipelineStats& stats,
                     guint detection_threads) {
  GstStructure* s = gst_structure_new(
      "gpen-stats", "frames", G_TYPE_UINT64, static_cast<guint64>(stats.frames), "faces",
      G_TYPE_UINT64, static_cast<guint64>(stats.faces), "batches", G_TYPE_UINT64,
      static_cast<guint64>(stats.batches), "detection-threads", G_TYPE_UINT, detection_threads,
      "wall", G_TYPE_DOUBLE, stats.wall, nullptr);
  for (std::size_t i = 0; i < gpen::kStageCount; ++i)
    gst_structure_set(s, gpen::stage_name(static_cast<gpen::Stage>(i)), G_TYPE_DOUBLE,
                      stats.seconds[i], nullptr);
  gst_element_post_message(element, gst_message_new_element(GST_OBJECT(element), s));
}
