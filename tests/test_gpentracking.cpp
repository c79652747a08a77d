/* gpenenhance's face tracking (GstHarness): track ids in the gpen-faces
 * messages, a face the detector misses still restored, tracks reset by
 * flushes, segments and caps, still images untouched by it, smoothing and
 * the detection interval. The cascade detector, the gpen-64 fixture model. */
// C++ and OpenCV headers first: gstcheck.h defines macros (fail, ...) that
// clash with names in the standard library.
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

static const std::string kModel = std::string(GPEN_TEST_DATA_DIR) + "/gpen-64/gpen-64.pth";
static const std::string kImages = std::string(GPEN_TEST_DATA_DIR) + "/images/";

/* ---- helpers ---------------------------------------------------------- */

static cv::Mat astronaut() {
  cv::Mat bgr = cv::imread(kImages + "astronaut.png", cv::IMREAD_COLOR);
  fail_if(bgr.empty(), "cannot read astronaut.png");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

// Where the astronaut's face is (the cascade's box is about 177,66 95x95).
static const cv::Rect kFace(160, 40, 140, 150);

// The astronaut with her face covered: the detector finds nobody.
static cv::Mat covered(const cv::Mat& rgb) {
  cv::Mat out = rgb.clone();
  out(kFace).setTo(cv::Scalar(128, 128, 128));
  return out;
}

static std::string caps_string(int width, int height, int fps) {
  return "video/x-raw,format=RGB,width=" + std::to_string(width) +
         ",height=" + std::to_string(height) + ",framerate=" + std::to_string(fps) + "/1";
}

static GstBuffer* make_frame(const cv::Mat& rgb, int index) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, rgb.cols, rgb.rows);
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, info.size, nullptr);
  GstVideoFrame frame;
  fail_unless(gst_video_frame_map(&frame, &info, buffer, GST_MAP_WRITE));
  auto* data = static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  for (int y = 0; y < rgb.rows; ++y)
    memcpy(data + static_cast<gsize>(y) * stride, rgb.ptr(y), static_cast<gsize>(rgb.cols) * 3);
  gst_video_frame_unmap(&frame);
  GST_BUFFER_PTS(buffer) = index * 40 * GST_MSECOND;
  GST_BUFFER_DURATION(buffer) = 40 * GST_MSECOND;
  GST_BUFFER_OFFSET(buffer) = index;
  return buffer;
}

static cv::Mat frame_rgb(GstBuffer* buffer, int width, int height) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, width, height);
  GstVideoFrame frame;
  fail_unless(gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ));
  const auto* data = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  cv::Mat rgb(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    memcpy(rgb.ptr(y), data + static_cast<gsize>(y) * stride, static_cast<gsize>(width) * 3);
  gst_video_frame_unmap(&frame);
  return rgb;
}

static int changed_pixels(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff, any;
  cv::absdiff(a, b, diff);
  cv::cvtColor(diff, any, cv::COLOR_RGB2GRAY);
  return cv::countNonZero(any);
}

static bool identical(const cv::Mat& a, const cv::Mat& b) { return changed_pixels(a, b) == 0; }

/* A harness over gpenenhance (face-mode=full, cascade, CPU) with its own bus. */
struct Tracked {
  Tracked(guint batch_size, int width, int height, int fps, bool tracking = true) : bus(gst_bus_new()) {
    GstElement* element = gst_element_factory_make("gpenenhance", nullptr);
    fail_unless(element != nullptr, "gpenenhance not found: is GST_PLUGIN_PATH set?");
    g_object_set(element, "model", kModel.c_str(), "batch-size", batch_size, "device", "cpu",
                 "tracking", tracking, nullptr);
    gst_element_set_bus(element, bus);
    h = gst_harness_new_with_element(element, "sink", "src");
    gst_object_unref(element);
    gst_harness_set_src_caps_str(h, caps_string(width, height, fps).c_str());
  }
  ~Tracked() {
    gst_element_set_bus(h->element, nullptr);
    gst_harness_teardown(h);
    gst_object_unref(bus);
  }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;

  void push(const cv::Mat& rgb) {
    fail_unless_equals_int(gst_harness_push(h, make_frame(rgb, index++)), GST_FLOW_OK);
  }
  void eos() { fail_unless(gst_harness_push_event(h, gst_event_new_eos())); }
  cv::Mat pull(int width, int height) {
    GstBuffer* out = gst_harness_pull(h);
    fail_unless(out != nullptr);
    cv::Mat rgb = frame_rgb(out, width, height);
    gst_buffer_unref(out);
    return rgb;
  }
  // The track id of each face of each gpen-faces message so far, in order
  // (-1: a face without one).
  std::vector<std::vector<gint64>> track_ids() {
    std::vector<std::vector<gint64>> frames;
    while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
      const GstStructure* s = gst_message_get_structure(m);
      if (gst_structure_has_name(s, "gpen-faces")) {
        std::vector<gint64> ids;
        const GValue* boxes = gst_structure_get_value(s, "boxes");
        for (guint i = 0; boxes && i < gst_value_array_get_size(boxes); ++i) {
          const GstStructure* face = gst_value_get_structure(gst_value_array_get_value(boxes, i));
          gint64 id = -1;
          if (!gst_structure_get_int64(face, "track-id", &id)) id = -1;
          ids.push_back(id);
        }
        frames.push_back(ids);
      }
      gst_message_unref(m);
    }
    return frames;
  }

  GstBus* bus;
  GstHarness* h = nullptr;
  int index = 0;
};

/* Frames through an element, all of them out. */
static std::vector<cv::Mat> run(const std::vector<cv::Mat>& frames, int fps, bool tracking,
                                std::vector<std::vector<gint64>>* ids = nullptr,
                                guint interval = 1, double smoothing = -1.0) {
  Tracked t(2, frames[0].cols, frames[0].rows, fps, tracking);
  g_object_set(t.h->element, "detection-interval", interval, nullptr);
  if (smoothing >= 0.0) g_object_set(t.h->element, "smoothing", smoothing, nullptr);
  for (const auto& frame : frames) t.push(frame);
  t.eos();
  std::vector<cv::Mat> out;
  for (std::size_t i = 0; i < frames.size(); ++i) out.push_back(t.pull(frames[0].cols, frames[0].rows));
  if (ids) *ids = t.track_ids();
  return out;
}

/* ---- tests ------------------------------------------------------------- */

GST_START_TEST(test_tracking_properties) {
  GstElement* element = gst_element_factory_make("gpenenhance", nullptr);
  gboolean tracking = FALSE;
  double smoothing = 0.0;
  guint interval = 0, missed = 0;
  g_object_get(element, "tracking", &tracking, "smoothing", &smoothing, "detection-interval",
               &interval, "track-max-missed", &missed, nullptr);
  fail_unless(tracking);
  fail_unless(smoothing > 0.0 && smoothing <= 1.0);
  fail_unless_equals_int(interval, 1);
  fail_unless_equals_int(missed, 3);
  g_object_set(element, "tracking", FALSE, "smoothing", 0.25, "detection-interval", 5u,
               "track-max-missed", 1u, nullptr);
  g_object_get(element, "tracking", &tracking, "smoothing", &smoothing, "detection-interval",
               &interval, "track-max-missed", &missed, nullptr);
  fail_if(tracking);
  fail_unless(smoothing == 0.25);
  fail_unless_equals_int(interval, 5);
  fail_unless_equals_int(missed, 1);
  gst_object_unref(element);
}
GST_END_TEST;

/* One face over six frames: one track, its id in every message. */
GST_START_TEST(test_tracking_ids_are_stable) {
  const cv::Mat face = astronaut();
  std::vector<std::vector<gint64>> ids;
  run(std::vector<cv::Mat>(6, face), 25, true, &ids);
  fail_unless_equals_int(ids.size(), 6);
  for (const auto& frame : ids) {
    fail_unless_equals_int(frame.size(), 1);
    fail_unless(frame[0] >= 1);
    fail_unless_equals_int(frame[0], ids[0][0]);
  }
  // Without tracking: no ids.
  run(std::vector<cv::Mat>(2, face), 25, false, &ids);
  fail_unless_equals_int(ids.size(), 2);
  fail_unless_equals_int(ids[0].size(), 1);
  fail_unless_equals_int(ids[0][0], -1);
}
GST_END_TEST;

/* The detector misses the face in one frame (covered): it is restored where
 * its track has it, with its id; without tracking the frame is left alone. */
GST_START_TEST(test_tracking_restores_a_face_missed_in_one_frame) {
  const cv::Mat face = astronaut(), hidden = covered(face);
  const std::vector<cv::Mat> frames = {face, face, hidden, face};
  std::vector<std::vector<gint64>> ids;
  auto out = run(frames, 25, true, &ids);
  fail_unless_equals_int(ids.size(), 4);
  for (const auto& frame : ids) {
    fail_unless_equals_int(frame.size(), 1);
    fail_unless_equals_int(frame[0], ids[0][0]);
  }
  fail_unless(changed_pixels(out[2](kFace), hidden(kFace)) > 1000, "the missed face not restored");
  out = run(frames, 25, false, &ids);
  fail_unless_equals_int(ids[2].size(), 0);
  fail_unless(identical(out[2], hidden));
}
GST_END_TEST;

/* After a flush, a new segment or new caps the tracks are gone: a frame
 * where the detector finds nobody is left alone. */
GST_START_TEST(test_tracking_resets_on_flush_segment_and_caps) {
  const cv::Mat face = astronaut(), hidden = covered(face);
  for (int reset = 0; reset < 4; ++reset) {
    Tracked t(1, face.cols, face.rows, 25);
    t.push(face);
    t.pull(face.cols, face.rows);
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    switch (reset) {
      case 0:  // nothing: the face is carried
        break;
      case 1:  // a flushing seek
        fail_unless(gst_harness_push_event(t.h, gst_event_new_flush_start()));
        fail_unless(gst_harness_push_event(t.h, gst_event_new_flush_stop(TRUE)));
        fail_unless(gst_harness_push_event(t.h, gst_event_new_segment(&segment)));
        break;
      case 2:  // a segment alone
        segment.base = 10 * GST_SECOND;
        fail_unless(gst_harness_push_event(t.h, gst_event_new_segment(&segment)));
        break;
      case 3:  // new caps
        gst_harness_set_src_caps_str(t.h, caps_string(face.cols, face.rows, 30).c_str());
        break;
    }
    t.push(hidden);
    const cv::Mat out = t.pull(face.cols, face.rows);
    if (reset == 0)
      fail_unless(changed_pixels(out(kFace), hidden(kFace)) > 1000, "not carried");
    else
      fail_unless(identical(out, hidden), "tracks not reset by case %d", reset);
  }
}
GST_END_TEST;

/* Still images (framerate 0/1) are each on their own: no face carried, no
 * ids, and the pixels are those of an element without tracking. */
GST_START_TEST(test_still_images_are_not_tracked) {
  const cv::Mat face = astronaut(), hidden = covered(face);
  const std::vector<cv::Mat> frames = {face, hidden, face};
  std::vector<std::vector<gint64>> ids;
  const auto still = run(frames, 0, true, &ids);
  const auto untracked = run(frames, 25, false);
  fail_unless_equals_int(ids.size(), 3);
  fail_unless_equals_int(ids[0].size(), 1);
  fail_unless_equals_int(ids[0][0], -1);
  fail_unless_equals_int(ids[1].size(), 0);
  for (int i = 0; i < 3; ++i) fail_unless(identical(still[i], untracked[i]), "frame %d", i);
  fail_unless(identical(still[1], hidden));
}
GST_END_TEST;

/* A face that holds still is restored exactly as without tracking, at the
 * default smoothing (the filter keeps a still value exactly), and with a
 * detection interval of 5 (frames between searches get the tracked face). */
GST_START_TEST(test_still_face_smoothed_and_detection_interval_restore_the_same) {
  const std::vector<cv::Mat> frames(7, astronaut());
  const auto untracked = run(frames, 25, false);
  fail_unless(changed_pixels(untracked[0](kFace), frames[0](kFace)) > 1000);
  std::vector<std::vector<gint64>> ids;
  const auto smoothed = run(frames, 25, true);
  const auto interval = run(frames, 25, true, &ids, 5);
  fail_unless_equals_int(ids.size(), 7);
  for (int i = 0; i < 7; ++i) {
    fail_unless(identical(smoothed[i], untracked[i]), "smoothed frame %d", i);
    fail_unless(identical(interval[i], untracked[i]), "interval frame %d", i);
    fail_unless_equals_int(ids[i].size(), 1);
    fail_unless_equals_int(ids[i][0], ids[0][0]);
  }
}
GST_END_TEST;

static Suite* gpentracking_suite(void) {
  Suite* s = suite_create("gpentracking");
  TCase* tc = tcase_create("general");
  tcase_set_timeout(tc, 600);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_tracking_properties);
  tcase_add_test(tc, test_tracking_ids_are_stable);
  tcase_add_test(tc, test_tracking_restores_a_face_missed_in_one_frame);
  tcase_add_test(tc, test_tracking_resets_on_flush_segment_and_caps);
  tcase_add_test(tc, test_still_images_are_not_tracked);
  tcase_add_test(tc, test_still_face_smoothed_and_detection_interval_restore_the_same);
  return s;
}

GST_CHECK_MAIN(gpentracking);
