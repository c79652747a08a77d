/* gpenenhance element tests (GstHarness). */
// C++ and OpenCV headers first: gstcheck.h defines macros (fail, ...) that
// clash with names in the standard library.
#include <cstdlib>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <glib/gstdio.h>
#include <unistd.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

static const std::string kDir = std::string(GPEN_TEST_DATA_DIR) + "/gpen-64/";
static const std::string kModel = kDir + "gpen-64.pth";
static const std::string kImages = std::string(GPEN_TEST_DATA_DIR) + "/images/";

/* ---- helpers ---------------------------------------------------------- */

static cv::Mat load_rgb(const std::string& name, const std::string& dir = kDir) {
  cv::Mat bgr = cv::imread(dir + name, cv::IMREAD_COLOR);
  fail_if(bgr.empty(), "cannot read %s", name.c_str());
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

static std::string caps_string(const char* format, int width, int height, int fps = 25) {
  return "video/x-raw,format=" + std::string(format) + ",width=" + std::to_string(width) +
         ",height=" + std::to_string(height) + ",framerate=" + std::to_string(fps) + "/1";
}

static GstVideoInfo video_info(const char* format, int width, int height) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, gst_video_format_from_string(format), width, height);
  return info;
}

/* A frame in `format` holding the RGB picture; alpha/padding bytes are 0xAB. */
static GstBuffer* make_frame(const cv::Mat& rgb, const char* format) {
  GstVideoInfo info = video_info(format, rgb.cols, rgb.rows);
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, info.size, nullptr);
  gst_buffer_memset(buffer, 0, 0xAB, info.size);
  GstVideoFrame frame;
  fail_unless(gst_video_frame_map(&frame, &info, buffer, GST_MAP_WRITE));
  auto* plane = static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  const int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, 0);
  for (int c = 0; c < 3; ++c) {
    const auto offset = static_cast<guint8*>(GST_VIDEO_FRAME_COMP_DATA(&frame, c)) - plane;
    for (int y = 0; y < rgb.rows; ++y) {
      const cv::Vec3b* row = rgb.ptr<cv::Vec3b>(y);
      guint8* out = plane + static_cast<gsize>(y) * stride + offset;
      for (int x = 0; x < rgb.cols; ++x) out[x * pstride] = row[x][c];
    }
  }
  gst_video_frame_unmap(&frame);
  return buffer;
}

/* The RGB picture in a frame of `format`. */
static cv::Mat frame_rgb(GstBuffer* buffer, const char* format, int width, int height) {
  GstVideoInfo info = video_info(format, width, height);
  GstVideoFrame frame;
  fail_unless(gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ));
  auto* plane = static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  const int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, 0);
  cv::Mat rgb(height, width, CV_8UC3);
  for (int c = 0; c < 3; ++c) {
    const auto offset = static_cast<guint8*>(GST_VIDEO_FRAME_COMP_DATA(&frame, c)) - plane;
    for (int y = 0; y < height; ++y) {
      cv::Vec3b* row = rgb.ptr<cv::Vec3b>(y);
      const guint8* in = plane + static_cast<gsize>(y) * stride + offset;
      for (int x = 0; x < width; ++x) row[x][c] = in[x * pstride];
    }
  }
  gst_video_frame_unmap(&frame);
  return rgb;
}

static int max_level_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  double max = 0;
  cv::minMaxLoc(diff.reshape(1), nullptr, &max);
  return static_cast<int>(max);
}

static GstElement* make_element(guint batch_size, const std::string& model = kModel) {
  GstElement* element = gst_element_factory_make("gpenenhance", nullptr);
  fail_unless(element != nullptr, "gpenenhance not found: is GST_PLUGIN_PATH set?");
  g_object_set(element, "model", model.c_str(), "batch-size", batch_size, "device", "cpu",
               "face-mode", 0 /* aligned */, nullptr);
  return element;
}

static GstHarness* make_harness(guint batch_size, const char* format = "RGB", int width = 64,
                                int height = 64) {
  GstElement* element = make_element(batch_size);
  GstHarness* h = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);  // the harness holds its own reference
  gst_harness_set_src_caps_str(h, caps_string(format, width, height).c_str());
  return h;
}

static GstBuffer* stamped(GstBuffer* buffer, int index) {
  GST_BUFFER_PTS(buffer) = index * 40 * GST_MSECOND;
  GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION(buffer) = 40 * GST_MSECOND;
  GST_BUFFER_OFFSET(buffer) = index;
  GST_BUFFER_OFFSET_END(buffer) = index + 1;
  return buffer;
}

/* Runs frames through an element with the given batch size; returns outputs. */
static std::vector<cv::Mat> run_frames(const std::vector<cv::Mat>& inputs, guint batch_size,
                                       const char* format = "RGB") {
  GstHarness* h = make_harness(batch_size, format, inputs[0].cols, inputs[0].rows);
  for (std::size_t i = 0; i < inputs.size(); ++i)
    fail_unless_equals_int(gst_harness_push(h, stamped(make_frame(inputs[i], format), i)), GST_FLOW_OK);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  std::vector<cv::Mat> outputs;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    GstBuffer* out = gst_harness_pull(h);
    outputs.push_back(frame_rgb(out, format, inputs[0].cols, inputs[0].rows));
    gst_buffer_unref(out);
  }
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
  gst_harness_teardown(h);
  return outputs;
}

/* Waits for an error on the bus of an element driven to PAUSED; returns its text. */
static std::string start_error(GstElement* element) {
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(element, bus);
  fail_unless_equals_int(gst_element_set_state(element, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(message != nullptr, "no error message posted");
  GError* error = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  std::string text = std::string(error->message) + " | " + (debug ? debug : "");
  g_error_free(error);
  g_free(debug);
  gst_message_unref(message);
  gst_element_set_state(element, GST_STATE_NULL);
  gst_element_set_bus(element, nullptr);
  gst_object_unref(bus);
  gst_object_unref(element);
  return text;
}

/* ---- tests ------------------------------------------------------------ */

GST_START_TEST(test_matches_reference_pngs) {
  const auto outputs = run_frames({load_rgb("gpen-64_in0.png"), load_rgb("gpen-64_in1.png")}, 2);
  const cv::Mat expected[2] = {load_rgb("gpen-64_out0.png"), load_rgb("gpen-64_out1.png")};
  for (int i = 0; i < 2; ++i) {
    const int diff = max_level_diff(outputs[i], expected[i]);
    GST_INFO("face %d: max difference to the reference %d level(s)", i, diff);
    fail_unless(diff <= 1, "face %d differs from the reference by %d levels", i, diff);
  }
}
GST_END_TEST;

GST_START_TEST(test_all_formats_agree) {
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  const cv::Mat reference = run_frames({face}, 1, "RGB")[0];
  for (const char* format : {"BGR", "RGBA", "BGRA", "RGBx", "BGRx"}) {
    const cv::Mat out = run_frames({face}, 1, format)[0];
    fail_unless_equals_int(max_level_diff(out, reference), 0);
  }
}
GST_END_TEST;

GST_START_TEST(test_alpha_untouched) {
  GstHarness* h = make_harness(1, "RGBA");
  gst_harness_push(h, make_frame(load_rgb("gpen-64_in0.png"), "RGBA"));
  GstBuffer* out = gst_harness_pull(h);
  GstMapInfo map;
  fail_unless(gst_buffer_map(out, &map, GST_MAP_READ));
  for (gsize i = 3; i < map.size; i += 4) fail_unless_equals_int(map.data[i], 0xAB);
  gst_buffer_unmap(out, &map);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_batch_invariance) {
  cv::Mat a = load_rgb("gpen-64_in0.png"), b = load_rgb("gpen-64_in1.png"), fa, fb;
  cv::flip(a, fa, 1);
  cv::flip(b, fb, 1);
  const std::vector<cv::Mat> inputs = {a, b, fa, fb};
  const auto one = run_frames(inputs, 1);
  const auto four = run_frames(inputs, 4);
  for (int i = 0; i < 4; ++i) fail_unless_equals_int(max_level_diff(one[i], four[i]), 0);
}
GST_END_TEST;

GST_START_TEST(test_order_and_timestamps_after_eos) {
  GstHarness* h = make_harness(4);
  const cv::Mat faces[2] = {load_rgb("gpen-64_in0.png"), load_rgb("gpen-64_in1.png")};
  GstVideoRegionOfInterestMeta* meta = nullptr;
  for (int i = 0; i < 10; ++i) {
    GstBuffer* buffer = stamped(make_frame(faces[i % 2], "RGB"), i);
    if (i == 3) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
    meta = gst_buffer_add_video_region_of_interest_meta(buffer, "face", i, i, 10, 10);
    fail_unless(meta != nullptr);
    fail_unless_equals_int(gst_harness_push(h, buffer), GST_FLOW_OK);
  }
  // Two full batches have left; two frames wait for the drain.
  fail_unless_equals_int(gst_harness_buffers_received(h), 8);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  fail_unless_equals_int(gst_harness_buffers_received(h), 10);
  for (int i = 0; i < 10; ++i) {
    GstBuffer* out = gst_harness_pull(h);
    fail_unless_equals_uint64(GST_BUFFER_PTS(out), i * 40 * GST_MSECOND);
    fail_unless_equals_uint64(GST_BUFFER_DURATION(out), 40 * GST_MSECOND);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), i);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET_END(out), i + 1);
    // The base class marks the first buffer after start DISCONT; ours is kept.
    fail_unless_equals_int(GST_BUFFER_FLAG_IS_SET(out, GST_BUFFER_FLAG_DISCONT), i == 0 || i == 3);
    auto* roi = gst_buffer_get_video_region_of_interest_meta_id(out, 0);
    fail_unless(roi != nullptr, "frame %d lost its meta", i);
    fail_unless_equals_int(roi->x, i);
    // Enhanced, not passed through.
    fail_if(max_level_diff(frame_rgb(out, "RGB", 64, 64), faces[i % 2]) == 0);
    gst_buffer_unref(out);
  }
  // EOS comes after the drained frames.
  GstEvent* event = nullptr;
  while ((event = gst_harness_try_pull_event(h))) {
    const bool eos = GST_EVENT_TYPE(event) == GST_EVENT_EOS;
    gst_event_unref(event);
    if (eos) break;
  }
  fail_unless(event != nullptr, "EOS was not forwarded");
  gst_harness_teardown(h);
}
GST_END_TEST;

/* A flushing seek as the harness sees it: FLUSH_START, FLUSH_STOP, then a
 * new segment. */
static void flush_and_restart(GstHarness* h) {
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_start()));
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(h, gst_event_new_segment(&segment)));
}

GST_START_TEST(test_flush_discards_held_frames) {
  GstHarness* h = make_harness(4);
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  for (int i = 0; i < 3; ++i) gst_harness_push(h, stamped(make_frame(face, "RGB"), i));
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  flush_and_restart(h);
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  for (int i = 0; i < 4; ++i) gst_harness_push(h, stamped(make_frame(face, "RGB"), 10 + i));
  fail_unless_equals_int(gst_harness_buffers_received(h), 4);
  // (Not named `first`: the fail_unless_equals_* macros declare that name.)
  GstBuffer* after_flush = gst_harness_pull(h);
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(after_flush), 10);
  gst_buffer_unref(after_flush);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_caps_change_drains) {
  GstHarness* h = make_harness(4);
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  for (int i = 0; i < 2; ++i) gst_harness_push(h, stamped(make_frame(face, "RGB"), i));
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  // New size mid-stream: the two held 64x64 frames leave first.
  gst_harness_set_src_caps_str(h, caps_string("BGRx", 48, 32).c_str());
  fail_unless_equals_int(gst_harness_buffers_received(h), 2);
  cv::Mat small;
  cv::resize(face, small, cv::Size(48, 32));
  for (int i = 0; i < 4; ++i) gst_harness_push(h, stamped(make_frame(small, "BGRx"), 2 + i));
  fail_unless_equals_int(gst_harness_buffers_received(h), 6);
  for (int i = 0; i < 6; ++i) {
    GstBuffer* out = gst_harness_pull(h);
    const gsize expected = i < 2 ? 64 * 64 * 3 : 48 * 32 * 4;
    fail_unless_equals_uint64(gst_buffer_get_size(out), expected);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), i);
    if (i >= 2) fail_if(max_level_diff(frame_rgb(out, "BGRx", 48, 32), small) == 0);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_latency_query) {
  GstHarness* h = make_harness(4);
  gst_harness_set_live(h, TRUE);
  gst_harness_set_upstream_latency(h, 10 * GST_MSECOND);
  // 25 fps, batch 4: the first frame of a batch waits three frame times.
  GstClockTime latency = gst_harness_query_latency(h);
  fail_unless(latency >= 10 * GST_MSECOND + 120 * GST_MSECOND, "latency %" GST_TIME_FORMAT,
              GST_TIME_ARGS(latency));
  // After a batch ran, the measured inference time is part of it too, and a
  // latency message told the application so.
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  for (int i = 0; i < 4; ++i) gst_harness_push(h, stamped(make_frame(face, "RGB"), i));
  GstClockTime after = gst_harness_query_latency(h);
  fail_unless(after > latency, "inference time not added: %" GST_TIME_FORMAT, GST_TIME_ARGS(after));
  GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_LATENCY);
  fail_unless(message != nullptr, "no latency message posted");
  gst_message_unref(message);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  // A batch timeout shorter than the fill time bounds the wait on live streams.
  g_object_set(h->element, "batch-timeout", (guint64)(20 * GST_MSECOND), nullptr);
  GstClockTime with_timeout = gst_harness_query_latency(h);
  fail_unless_equals_uint64(with_timeout, after - 120 * GST_MSECOND + 20 * GST_MSECOND);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_batch_timeout_pushes_partial_batch) {
  GstElement* element = make_element(8);
  g_object_set(element, "batch-timeout", (guint64)(50 * GST_MSECOND), nullptr);
  GstHarness* h = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);
  gst_harness_set_src_caps_str(h, caps_string("RGB", 64, 64).c_str());
  gst_harness_set_live(h, TRUE);
  gst_harness_push(h, stamped(make_frame(load_rgb("gpen-64_in0.png"), "RGB"), 0));
  // No EOS, no full batch: only the timeout can release it.
  GstBuffer* out = nullptr;
  for (int i = 0; i < 500 && !out; ++i) {
    out = gst_harness_try_pull(h);
    if (!out) g_usleep(10000);
  }
  fail_unless(out != nullptr, "the partial batch was never pushed");
  fail_unless_equals_uint64(GST_BUFFER_PTS(out), 0);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_resizes_to_model_and_back) {
  cv::Mat face = load_rgb("gpen-64_in0.png"), big;
  cv::resize(face, big, cv::Size(100, 90), 0, 0, cv::INTER_LINEAR);
  const cv::Mat out = run_frames({big}, 1)[0];
  fail_unless_equals_int(out.cols, 100);
  fail_unless_equals_int(out.rows, 90);
  fail_if(max_level_diff(out, big) == 0, "frame was not enhanced");
}
GST_END_TEST;

GST_START_TEST(test_strength) {
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  GstHarness* h = make_harness(1);
  g_object_set(h->element, "strength", 0.0, nullptr);
  gst_harness_push(h, make_frame(face, "RGB"));
  GstBuffer* out = gst_harness_pull(h);
  fail_unless_equals_int(max_level_diff(frame_rgb(out, "RGB", 64, 64), face), 0);
  gst_buffer_unref(out);
  // Half strength lies between the original and the full enhancement.
  g_object_set(h->element, "strength", 0.5, nullptr);
  gst_harness_push(h, make_frame(face, "RGB"));
  out = gst_harness_pull(h);
  const cv::Mat half = frame_rgb(out, "RGB", 64, 64);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
  const cv::Mat full = run_frames({face}, 1)[0];
  cv::Mat expected;
  cv::addWeighted(face, 0.5, full, 0.5, 0.0, expected);
  fail_unless(max_level_diff(half, expected) <= 1);
}
GST_END_TEST;

GST_START_TEST(test_properties) {
  GstHarness* h = make_harness(0);
  guint batch = 99;
  gchar* device = nullptr;
  g_object_get(h->element, "current-batch-size", &batch, "current-device", &device, nullptr);
  fail_unless_equals_int(batch, 1);  // automatic on the CPU
  fail_unless_equals_string(device, "cpu");
  g_free(device);
  // Model-related properties need a restart: a change while playing is ignored.
  g_object_set(h->element, "model", "/elsewhere.pth", nullptr);
  gchar* model = nullptr;
  g_object_get(h->element, "model", &model, nullptr);
  fail_unless_equals_string(model, kModel.c_str());
  g_free(model);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_propose_allocation_asks_for_a_batch) {
  GstHarness* h = make_harness(6);
  GstCaps* caps = gst_caps_from_string(caps_string("RGB", 64, 64).c_str());
  GstQuery* query = gst_query_new_allocation(caps, TRUE);
  fail_unless(gst_pad_peer_query(h->srcpad, query));
  fail_unless(gst_query_get_n_allocation_pools(query) >= 1);
  guint size = 0, min = 0, max = 0;
  gst_query_parse_nth_allocation_pool(query, 0, nullptr, &size, &min, &max);
  fail_unless(min >= 6, "min buffers %u", min);
  fail_unless(gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr));
  gst_query_unref(query);
  gst_caps_unref(caps);
  gst_harness_teardown(h);
}
GST_END_TEST;

static void note_freed(gpointer freed, GstMiniObject*) { *static_cast<bool*>(freed) = true; }

GST_START_TEST(test_paused_to_ready_releases_held_frames) {
  GstHarness* h = make_harness(4);
  // The element holds the frame it was given (writable: no copy) until its
  // batch fills, and lets it go on PAUSED -> READY.
  GstBuffer* buffer = make_frame(load_rgb("gpen-64_in0.png"), "RGB");
  bool freed = false;
  gst_mini_object_weak_ref(GST_MINI_OBJECT(buffer), note_freed, &freed);
  gst_harness_push(h, buffer);
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  fail_if(freed);
  fail_unless_equals_int(gst_element_set_state(h->element, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  fail_unless(freed);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* A bin takes its children to READY from the sink up: the element's source
 * pad is inactive while upstream still pushes into its sink pad. An event it
 * cannot forward then must come back as flushing, as a buffer does, not as
 * an error: a source upstream posts those as fatal. */
static void check_events_meet_an_inactive_source_pad(GstHarness* h) {
  GstBuffer* frame = make_frame(load_rgb("gpen-64_in0.png"), "RGB");
  fail_unless_equals_int(gst_harness_push(h, gst_buffer_copy(frame)), GST_FLOW_OK);
  GstPad* src = gst_element_get_static_pad(h->element, "src");
  fail_unless(gst_pad_set_active(src, FALSE));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.start = GST_SECOND;
  // Sticky events wait on the harness's pad and go with the next buffer.
  gst_harness_push_event(h, gst_event_new_segment(&segment));
  fail_unless_equals_int(gst_harness_push(h, gst_buffer_copy(frame)), GST_FLOW_FLUSHING);
  gst_harness_set_src_caps_str(h, caps_string("RGB", 64, 64, 30).c_str());  // a new frame rate
  fail_unless_equals_int(gst_harness_push(h, gst_buffer_copy(frame)), GST_FLOW_FLUSHING);
  gst_object_unref(src);
  gst_buffer_unref(frame);
  gst_harness_teardown(h);
}

GST_START_TEST(test_events_meet_an_inactive_source_pad) {
  check_events_meet_an_inactive_source_pad(make_harness(1));
  GstHarness* detect = gst_harness_new("gpenfacedetect");
  gst_harness_set_src_caps_str(detect, caps_string("RGB", 64, 64).c_str());
  check_events_meet_an_inactive_source_pad(detect);
}
GST_END_TEST;

/* A caps event that fails for a reason of its own stays not-negotiated. */
GST_START_TEST(test_refused_caps_are_not_negotiated) {
  GstHarness* h = make_harness(1);
  gst_harness_set_sink_caps_str(h, caps_string("BGR", 64, 64).c_str());
  gst_harness_set_src_caps_str(h, caps_string("RGB", 32, 32).c_str());
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  cv::Mat small;
  cv::resize(face, small, cv::Size(32, 32));
  fail_unless_equals_int(gst_harness_push(h, make_frame(small, "RGB")), GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_missing_model_is_an_error) {
  const std::string text = start_error(make_element(1, "/nonexistent/GPEN-BFR-512.pth"));
  fail_unless(text.find("/nonexistent/GPEN-BFR-512.pth") != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("not found") != std::string::npos, "%s", text.c_str());
}
GST_END_TEST;

GST_START_TEST(test_corrupt_model_is_an_error) {
  gchar* path = g_build_filename(g_get_tmp_dir(), "gpen-corrupt-XXXXXX.pth", nullptr);
  const int fd = g_mkstemp(path);
  fail_unless(fd >= 0);
  // The first half of a real checkpoint: a truncated download.
  gchar* contents = nullptr;
  gsize length = 0;
  fail_unless(g_file_get_contents(kModel.c_str(), &contents, &length, nullptr));
  fail_unless(write(fd, contents, length / 2) == static_cast<ssize_t>(length / 2));
  close(fd);
  g_free(contents);
  const std::string text = start_error(make_element(1, path));
  fail_unless(text.find(path) != std::string::npos, "%s", text.c_str());
  g_unlink(path);
  g_free(path);
}
GST_END_TEST;

GST_START_TEST(test_wrong_kind_of_model_is_an_error) {
  // A valid checkpoint that is not a GPEN generator.
  const std::string tensors = kDir + "gpen-64_tensors.pt";
  const std::string text = start_error(make_element(1, tensors));
  fail_unless(text.find(tensors) != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("GPEN") != std::string::npos, "%s", text.c_str());
}
GST_END_TEST;

GST_START_TEST(test_no_model_is_an_error) {
  GstElement* element = gst_element_factory_make("gpenenhance", nullptr);
  const std::string text = start_error(element);
  fail_unless(text.find("model") != std::string::npos, "%s", text.c_str());
}
GST_END_TEST;

GST_START_TEST(test_unavailable_cuda_is_an_error) {
  GstElement* element = make_element(1);
  g_object_set(element, "device", "cuda:7", nullptr);
  const std::string text = start_error(element);
  fail_unless(text.find("cuda:7") != std::string::npos, "%s", text.c_str());
}
GST_END_TEST;

GST_START_TEST(test_pipeline_over_png_files) {
  // The README's main job, on the fixture faces.
  gchar* outdir = g_dir_make_tmp("gpen-out-XXXXXX", nullptr);
  fail_unless(outdir != nullptr);
  const std::string description =
      "multifilesrc location=" + kDir + "gpen-64_in%d.png index=0 stop-index=1 caps=image/png ! "
      "pngdec ! videoconvert ! gpenenhance model=" + kModel + " face-mode=aligned batch-size=8 "
      "device=cpu ! videoconvert ! pngenc ! multifilesink location=" + std::string(outdir) +
      "/%05d.png";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  fail_unless(pipeline != nullptr && error == nullptr, "%s", error ? error->message : "");
  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message = gst_bus_timed_pop_filtered(
      bus, 120 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(message != nullptr && GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS);
  gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  for (int i = 0; i < 2; ++i) {
    gchar* name = g_strdup_printf("%s/%05d.png", outdir, i);
    cv::Mat bgr = cv::imread(name, cv::IMREAD_COLOR);
    fail_if(bgr.empty(), "missing output %s", name);
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const cv::Mat expected = load_rgb("gpen-64_out" + std::to_string(i) + ".png");
    fail_unless(max_level_diff(rgb, expected) <= 1);
    g_unlink(name);
    g_free(name);
  }
  g_rmdir(outdir);
  g_free(outdir);
}
GST_END_TEST;


/* ---- face-mode=full ---------------------------------------------------- */

static GstElement* make_full_element(guint batch_size) {
  GstElement* element = gst_element_factory_make("gpenenhance", nullptr);
  fail_unless(element != nullptr);
  g_object_set(element, "model", kModel.c_str(), "batch-size", batch_size, "device", "cpu", nullptr);
  return element;
}

static GstHarness* make_full_harness(GstElement* element, const char* format, int width, int height) {
  GstHarness* h = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);  // the harness holds its own reference
  gst_harness_set_src_caps_str(h, caps_string(format, width, height).c_str());
  return h;
}

/* A bus on an element for the length of a scope (which may outlast the
 * harness that holds the element: it keeps a reference). */
struct ElementBus {
  explicit ElementBus(GstElement* e)
      : element(GST_ELEMENT(gst_object_ref(e))), bus(gst_bus_new()) {
    gst_element_set_bus(element, bus);
  }
  ~ElementBus() {
    gst_element_set_bus(element, nullptr);
    gst_object_unref(bus);
    gst_object_unref(element);
  }
  ElementBus(const ElementBus&) = delete;
  ElementBus& operator=(const ElementBus&) = delete;
  GstElement* element;
  GstBus* bus;
};

static cv::Mat pull_rgb(GstHarness* h, const char* format, int width, int height,
                        GstBuffer** keep = nullptr) {
  GstBuffer* out = gst_harness_pull(h);
  fail_unless(out != nullptr);
  cv::Mat rgb = frame_rgb(out, format, width, height);
  if (keep)
    *keep = out;
  else
    gst_buffer_unref(out);
  return rgb;
}

/* Number of pixels that differ. */
static int changed_pixels(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff, any;
  cv::absdiff(a, b, diff);
  cv::cvtColor(diff, any, cv::COLOR_RGB2GRAY);
  return cv::countNonZero(any);
}

/* The faces= count of each gpen-faces message on the bus, in order. */
static std::vector<guint> face_counts(GstBus* bus) {
  std::vector<guint> counts;
  while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure* s = gst_message_get_structure(m);
    guint faces = 0;
    if (gst_structure_has_name(s, "gpen-faces") && gst_structure_get_uint(s, "faces", &faces))
      counts.push_back(faces);
    gst_message_unref(m);
  }
  return counts;
}

/* detection-threads: the faces of the next frames are found on workers while
 * the network runs; frames wait that many frames longer, leave in order, and
 * EOS drains them. The gpen-stats message at EOS says where the time went. */
GST_START_TEST(test_full_detection_threads_and_stats) {
  const cv::Mat frame = load_rgb("astronaut.png", kImages);
  GstElement* element = make_full_element(1);
  g_object_set(element, "detection-threads", 2u, nullptr);
  GstHarness* h = make_full_harness(element, "RGB", frame.cols, frame.rows);
  ElementBus watch(h->element);
  for (int i = 0; i < 4; ++i)
    fail_unless_equals_int(gst_harness_push(h, stamped(make_frame(frame, "RGB"), i)), GST_FLOW_OK);
  // A batch of one and two frames being detected are held at most (more
  // leave when their workers are done first).
  fail_unless(gst_harness_buffers_received(h) >= 1);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  fail_unless_equals_int(gst_harness_buffers_received(h), 4);
  for (int i = 0; i < 4; ++i) {
    GstBuffer* out = gst_harness_pull(h);
    fail_unless_equals_uint64(GST_BUFFER_PTS(out), static_cast<guint64>(i) * 40 * GST_MSECOND);
    gst_buffer_unref(out);
  }
  bool stats_seen = false;
  int face_messages = 0;
  while (GstMessage* m = gst_bus_pop_filtered(watch.bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure* s = gst_message_get_structure(m);
    if (gst_structure_has_name(s, "gpen-faces")) ++face_messages;
    if (gst_structure_has_name(s, "gpen-stats")) {
      stats_seen = true;
      guint64 frames = 0, faces = 0;
      guint threads = 0;
      double detection = 0, network = 0, paste = 0, wall = 0;
      fail_unless(gst_structure_get_uint64(s, "frames", &frames));
      fail_unless(gst_structure_get_uint64(s, "faces", &faces));
      fail_unless(gst_structure_get_uint(s, "detection-threads", &threads));
      fail_unless(gst_structure_get_double(s, "detection", &detection));
      fail_unless(gst_structure_get_double(s, "network", &network));
      fail_unless(gst_structure_get_double(s, "paste-back", &paste));
      fail_unless(gst_structure_get_double(s, "wall", &wall));
      fail_unless_equals_uint64(frames, 4);
      fail_unless_equals_uint64(faces, 4);
      fail_unless_equals_int(threads, 2);
      fail_unless(detection > 0 && network > 0 && paste > 0 && wall > 0);
    }
    gst_message_unref(m);
  }
  fail_unless_equals_int(face_messages, 4);
  fail_unless(stats_seen, "no gpen-stats message at EOS");
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Flushing with frames at the detection workers drops them; the stream goes
 * on with fresh frames. */
GST_START_TEST(test_full_detection_threads_flush) {
  const cv::Mat frame = load_rgb("astronaut.png", kImages);
  GstElement* element = make_full_element(1);
  g_object_set(element, "detection-threads", 2u, nullptr);
  GstHarness* h = make_full_harness(element, "RGB", frame.cols, frame.rows);
  for (int i = 0; i < 2; ++i) gst_harness_push(h, stamped(make_frame(frame, "RGB"), i));
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  flush_and_restart(h);
  gst_harness_push(h, stamped(make_frame(frame, "RGB"), 5));
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  fail_unless_equals_int(gst_harness_buffers_received(h), 1);
  GstBuffer* out = gst_harness_pull(h);
  fail_unless_equals_uint64(GST_BUFFER_PTS(out), 5 * 40 * GST_MSECOND);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_full_is_the_default_mode) {
  GstElement* element = gst_element_factory_make("gpenenhance", nullptr);
  gint mode = -1;
  g_object_get(element, "face-mode", &mode, nullptr);
  fail_unless_equals_int(mode, 1);
  gst_object_unref(element);
}
GST_END_TEST;

GST_START_TEST(test_full_restores_the_face_and_nothing_else) {
  const cv::Mat frame = load_rgb("astronaut.png", kImages);
  GstHarness* h = make_full_harness(make_full_element(1), "RGBA", frame.cols, frame.rows);
  ElementBus watch(h->element);
  GstBus* bus = watch.bus;
  fail_unless_equals_int(gst_harness_push(h, stamped(make_frame(frame, "RGBA"), 0)), GST_FLOW_OK);
  const cv::Mat out = pull_rgb(h, "RGBA", frame.cols, frame.rows);
  // One face: the message gives its box.
  GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
  fail_unless(m != nullptr, "no gpen-faces message");
  const GstStructure* s = gst_message_get_structure(m);
  fail_unless(gst_structure_has_name(s, "gpen-faces"));
  guint faces = 0;
  fail_unless(gst_structure_get_uint(s, "faces", &faces));
  fail_unless_equals_int(faces, 1);
  const GValue* boxes = gst_structure_get_value(s, "boxes");
  fail_unless_equals_int(gst_value_array_get_size(boxes), 1);
  const GstStructure* box = gst_value_get_structure(gst_value_array_get_value(boxes, 0));
  gint x = 0, y = 0, w = 0, hgt = 0;
  fail_unless(gst_structure_get(box, "x", G_TYPE_INT, &x, "y", G_TYPE_INT, &y, "width", G_TYPE_INT,
                                &w, "height", G_TYPE_INT, &hgt, nullptr));
  GstClockTime ts = 1;
  fail_unless(gst_structure_get_uint64(s, "timestamp", &ts));
  fail_unless_equals_uint64(ts, 0);
  gst_message_unref(m);
  // The face changed, pixels far from it did not change at all.
  const cv::Rect face(x, y, w, hgt);
  fail_unless(changed_pixels(out(face), frame(face)) > face.area() / 2);
  const int reach = 2 * w;
  const cv::Rect near(std::max(0, x + w / 2 - reach), std::max(0, y + hgt / 2 - reach), 2 * reach, 2 * reach);
  const cv::Rect around = near & cv::Rect(0, 0, frame.cols, frame.rows);
  cv::Mat outside_out = out.clone(), outside_in = frame.clone();
  outside_out(around).setTo(cv::Scalar(0, 0, 0));
  outside_in(around).setTo(cv::Scalar(0, 0, 0));
  fail_unless_equals_int(changed_pixels(outside_out, outside_in), 0);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_full_many_faces_in_several_batches) {
  const cv::Mat frame = load_rgb("solvay_1927.png", kImages);
  GstElement* element = make_full_element(4);
  g_object_set(element, "messages", 2 /* batch */, nullptr);
  GstHarness* h = make_full_harness(element, "BGRx", frame.cols, frame.rows);
  ElementBus watch(h->element);
  GstBus* bus = watch.bus;
  gst_harness_push(h, stamped(make_frame(frame, "BGRx"), 0));
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  const cv::Mat out = pull_rgb(h, "BGRx", frame.cols, frame.rows);
  GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
  fail_unless(m != nullptr);
  const GstStructure* s = gst_message_get_structure(m);
  fail_unless(gst_structure_has_name(s, "gpen-batch"), "%s", gst_structure_get_name(s));
  guint frames = 0, faces = 0;
  fail_unless(gst_structure_get_uint(s, "frames", &frames));
  fail_unless(gst_structure_get_uint(s, "faces", &faces));
  fail_unless_equals_int(frames, 1);
  GST_INFO("solvay_1927.png: %u faces", faces);
  fail_unless(faces >= 10 && faces <= 40, "%u faces", faces);
  gst_message_unref(m);
  fail_unless(changed_pixels(out, frame) > 10000);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_full_max_faces) {
  const cv::Mat frame = load_rgb("solvay_1927.png", kImages);
  GstElement* element = make_full_element(4);
  g_object_set(element, "max-faces", 3, nullptr);
  GstHarness* h = make_full_harness(element, "RGB", frame.cols, frame.rows);
  ElementBus watch(h->element);
  GstBus* bus = watch.bus;
  gst_harness_push(h, make_frame(frame, "RGB"));
  gst_harness_push_event(h, gst_event_new_eos());
  gst_buffer_unref(gst_harness_pull(h));
  const auto counts = face_counts(bus);
  fail_unless_equals_int(counts.size(), 1);
  fail_unless_equals_int(counts[0], 3);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_full_mixed_stream_keeps_order_and_timestamps) {
  const cv::Mat face = load_rgb("astronaut.png", kImages);
  const cv::Mat empty(face.rows, face.cols, CV_8UC3, cv::Scalar(90, 120, 150));
  // Frames apart, not a video: no face carried into the empty frames.
  GstElement* element = make_full_element(2);
  g_object_set(element, "tracking", FALSE, nullptr);
  GstHarness* h = make_full_harness(element, "RGB", face.cols, face.rows);
  ElementBus watch(h->element);
  GstBus* bus = watch.bus;
  const bool has_face[7] = {false, true, false, false, true, true, false};
  for (int i = 0; i < 7; ++i)
    fail_unless_equals_int(
        gst_harness_push(h, stamped(make_frame(has_face[i] ? face : empty, "RGB"), i)), GST_FLOW_OK);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  fail_unless_equals_int(gst_harness_buffers_received(h), 7);
  for (int i = 0; i < 7; ++i) {
    GstBuffer* out = nullptr;
    const cv::Mat rgb = pull_rgb(h, "RGB", face.cols, face.rows, &out);
    fail_unless_equals_uint64(GST_BUFFER_PTS(out), i * 40 * GST_MSECOND);
    fail_unless_equals_uint64(GST_BUFFER_DURATION(out), 40 * GST_MSECOND);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), i);
    gst_buffer_unref(out);
    if (has_face[i])
      fail_unless(changed_pixels(rgb, face) > 1000, "frame %d not restored", i);
    else
      fail_unless_equals_int(changed_pixels(rgb, empty), 0);
  }
  const auto counts = face_counts(bus);
  fail_unless_equals_int(counts.size(), 7);
  for (int i = 0; i < 7; ++i) fail_unless_equals_int(counts[i], has_face[i] ? 1 : 0);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_full_honours_upstream_face_metas) {
  const cv::Mat face = load_rgb("astronaut.png", kImages);
  GstHarness* h = make_full_harness(make_full_element(1), "RGB", face.cols, face.rows);
  // 1: a face ROI meta from some other detector, on the flag (boxes only).
  GstBuffer* boxed = make_frame(face, "RGB");
  gst_buffer_add_video_region_of_interest_meta(boxed, "face", 10, 200, 80, 80);
  // A region of another type is not a face.
  gst_buffer_add_video_region_of_interest_meta(boxed, "car", 300, 300, 100, 100);
  gst_harness_push(h, boxed);
  const cv::Mat out = pull_rgb(h, "RGB", face.cols, face.rows);
  fail_unless(changed_pixels(out(cv::Rect(30, 220, 40, 40)), face(cv::Rect(30, 220, 40, 40))) > 100);
  // The astronaut's own face was not searched for.
  fail_unless_equals_int(changed_pixels(out(cv::Rect(177, 66, 95, 95)), face(cv::Rect(177, 66, 95, 95))), 0);
  fail_unless_equals_int(changed_pixels(out(cv::Rect(300, 300, 100, 100)), face(cv::Rect(300, 300, 100, 100))), 0);
  gst_harness_teardown(h);
}
GST_END_TEST;

// One RGB frame through a parsed chain of elements; `out` (optional) gets the buffer.
static cv::Mat through_chain(const std::string& launch, const cv::Mat& rgb, GstBuffer** out = nullptr) {
  GstHarness* h = gst_harness_new_parse(launch.c_str());
  gst_harness_set_src_caps_str(h, caps_string("RGB", rgb.cols, rgb.rows).c_str());
  gst_harness_push(h, make_frame(rgb, "RGB"));
  const cv::Mat result = pull_rgb(h, "RGB", rgb.cols, rgb.rows, out);
  gst_harness_teardown(h);
  return result;
}

static const std::string& enhance_chain() {
  static const std::string chain = "gpenenhance model=" + kModel + " batch-size=1 device=cpu";
  return chain;
}

GST_START_TEST(test_detect_then_enhance_equals_one_element) {
  const cv::Mat face = load_rgb("astronaut.png", kImages);
  const cv::Mat expected = through_chain(enhance_chain(), face);
  GstBuffer* out = nullptr;
  const cv::Mat got = through_chain("gpenfacedetect ! " + enhance_chain(), face, &out);
  fail_unless_equals_int(max_level_diff(got, expected), 0);
  fail_unless(changed_pixels(got, face) > 1000);
  // The detector's face stays on the buffer for anyone downstream.
  auto* roi = gst_buffer_get_video_region_of_interest_meta_id(out, 0);
  fail_unless(roi != nullptr);
  fail_unless_equals_string(g_quark_to_string(roi->roi_type), "face");
  gst_buffer_unref(out);
}
GST_END_TEST;

// videoconvert (1.22) copies a face ROI meta without its gpen-face param; the
// faces come through in the detection marker instead, so converting between
// the two elements loses nothing.
GST_START_TEST(test_detect_convert_enhance_equals_one_element) {
  const cv::Mat face = load_rgb("astronaut.png", kImages);
  const cv::Mat expected = through_chain(enhance_chain(), face);
  const cv::Mat got = through_chain("gpenfacedetect ! videoconvert ! capsfilter caps=video/x-raw,format=BGRx ! " +
                                        enhance_chain() + " ! videoconvert ! capsfilter caps=video/x-raw,format=RGB",
                                    face);
  fail_unless_equals_int(max_level_diff(got, expected), 0);
  fail_unless(changed_pixels(got, face) > 1000);
}
GST_END_TEST;

// A flip moves the faces: neither the face ROIs nor the marker survive it,
// so gpenenhance searches the flipped frame itself.
GST_START_TEST(test_detect_flip_enhance_detects_again) {
  const cv::Mat face = load_rgb("astronaut.png", kImages);
  const cv::Mat expected = through_chain("videoflip method=horizontal-flip ! " + enhance_chain(), face);
  const cv::Mat got = through_chain("gpenfacedetect ! videoflip method=horizontal-flip ! " + enhance_chain(), face);
  fail_unless_equals_int(max_level_diff(got, expected), 0);
  cv::Mat flipped;
  cv::flip(face, flipped, 1);
  fail_unless(changed_pixels(got, flipped) > 1000);
}
GST_END_TEST;

// The marker's faces scale with the frame (videoscale's meta transform).
GST_START_TEST(test_detection_marker_scales_with_the_frame) {
  const cv::Mat face = load_rgb("astronaut.png", kImages);
  const auto face_data = [](GstBuffer* buffer) {
    GstCustomMeta* marker = gst_buffer_get_custom_meta(buffer, "GpenFaceDetectionMeta");
    fail_unless(marker != nullptr);
    const GValue* data = gst_structure_get_value(gst_custom_meta_get_structure(marker), "face-data");
    fail_unless(data != nullptr && gst_value_array_get_size(data) == 16, "one face of 16 values");
    std::vector<double> values;
    for (guint i = 0; i < 16; ++i) values.push_back(g_value_get_double(gst_value_array_get_value(data, i)));
    return values;
  };
  GstHarness* plain = gst_harness_new("gpenfacedetect");
  gst_harness_set_src_caps_str(plain, caps_string("RGB", face.cols, face.rows).c_str());
  gst_harness_push(plain, make_frame(face, "RGB"));
  GstBuffer* out = gst_harness_pull(plain);
  const auto before = face_data(out);
  gst_buffer_unref(out);
  gst_harness_teardown(plain);
  fail_unless(before[5] == 1.0, "with landmarks");

  const std::string launch = "gpenfacedetect ! videoscale ! capsfilter caps=video/x-raw,width=" +
                             std::to_string(2 * face.cols) + ",height=" + std::to_string(face.rows / 2);
  GstHarness* scaled = gst_harness_new_parse(launch.c_str());
  gst_harness_set_src_caps_str(scaled, caps_string("RGB", face.cols, face.rows).c_str());
  gst_harness_push(scaled, make_frame(face, "RGB"));
  out = gst_harness_pull(scaled);
  const auto after = face_data(out);
  gst_buffer_unref(out);
  gst_harness_teardown(scaled);
  // x doubles, y halves: the box (0..3) and the landmarks (6..15); score and flag stay.
  for (int k = 0; k < 16; ++k) {
    const double factor = (k >= 4 && k < 6) ? 1.0 : ((k < 4 ? k : k - 6) % 2 == 0 ? 2.0 : 0.5);
    fail_unless(std::abs(after[k] - before[k] * factor) < 1e-3, "value %d: %f, expected %f", k, after[k],
                before[k] * factor);
  }
}
GST_END_TEST;

GST_START_TEST(test_facedetect_attaches_face_metas) {
  const cv::Mat face = load_rgb("astronaut.png", kImages);
  GstHarness* h = gst_harness_new("gpenfacedetect");
  gst_harness_set_src_caps_str(h, caps_string("BGRA", face.cols, face.rows).c_str());
  GstBuffer* in = make_frame(face, "BGRA");
  gst_harness_push(h, in);
  GstBuffer* out = gst_harness_pull(h);
  // Pixels untouched.
  fail_unless_equals_int(max_level_diff(frame_rgb(out, "BGRA", face.cols, face.rows), face), 0);
  guint count = 0;
  gpointer state = nullptr;
  GstMeta* meta = nullptr;
  while ((meta = gst_buffer_iterate_meta_filtered(out, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta);
    ++count;
    fail_unless_equals_string(g_quark_to_string(roi->roi_type), "face");
    // Her face is around (177..272, 66..161).
    fail_unless(roi->x > 150 && roi->x < 210 && roi->y > 40 && roi->y < 100, "box %u,%u", roi->x, roi->y);
    GstStructure* param = gst_video_region_of_interest_meta_get_param(roi, "gpen-face");
    fail_unless(param != nullptr);
    double score = 0;
    fail_unless(gst_structure_get_double(param, "score", &score));
    const GValue* landmarks = gst_structure_get_value(param, "landmarks");
    fail_unless(landmarks != nullptr && gst_value_array_get_size(landmarks) == 10);
    // Left eye about (203, 102).
    fail_unless(std::abs(g_value_get_double(gst_value_array_get_value(landmarks, 0)) - 203) < 10);
    fail_unless(std::abs(g_value_get_double(gst_value_array_get_value(landmarks, 1)) - 102) < 10);
  }
  fail_unless_equals_int(count, 1);
  gst_buffer_unref(out);
  // A frame with nobody is marked as looked at, with no face meta.
  const cv::Mat empty(face.rows, face.cols, CV_8UC3, cv::Scalar(0, 0, 0));
  gst_harness_push(h, make_frame(empty, "BGRA"));
  out = gst_harness_pull(h);
  fail_unless(gst_buffer_get_video_region_of_interest_meta_id(out, 0) == nullptr);
  fail_unless(gst_buffer_get_custom_meta(out, "GpenFaceDetectionMeta") != nullptr);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_detected_frame_without_faces_is_not_searched_again) {
  const cv::Mat face = load_rgb("astronaut.png", kImages);
  GstHarness* h = make_full_harness(make_full_element(1), "RGB", face.cols, face.rows);
  GstBuffer* buffer = make_frame(face, "RGB");
  GstCustomMeta* marker = gst_buffer_add_custom_meta(buffer, "GpenFaceDetectionMeta");
  fail_unless(marker != nullptr, "the plugin registers the marker meta");
  gst_harness_push(h, buffer);
  fail_unless_equals_int(changed_pixels(pull_rgb(h, "RGB", face.cols, face.rows), face), 0);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_full_strength_zero_passes_frames_untouched) {
  const cv::Mat face = load_rgb("astronaut.png", kImages);
  GstElement* element = make_full_element(2);
  g_object_set(element, "strength", 0.0, nullptr);
  GstHarness* h = make_full_harness(element, "RGB", face.cols, face.rows);
  gst_harness_push(h, make_frame(face, "RGB"));
  // Nothing is held: the frame leaves at once.
  fail_unless_equals_int(gst_harness_buffers_received(h), 1);
  fail_unless_equals_int(changed_pixels(pull_rgb(h, "RGB", face.cols, face.rows), face), 0);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* The buffer (and its caps) that `launch` makes of an RGB picture. */
static GstBuffer* chain_output(const std::string& launch, const cv::Mat& rgb, GstCaps** caps) {
  GstHarness* h = gst_harness_new_parse(launch.c_str());
  gst_harness_set_src_caps_str(h, caps_string("RGB", rgb.cols, rgb.rows).c_str());
  fail_unless_equals_int(gst_harness_push(h, make_frame(rgb, "RGB")), GST_FLOW_OK);
  GstBuffer* out = gst_harness_pull(h);
  fail_unless(out != nullptr);
  *caps = gst_pad_get_current_caps(h->sinkpad);
  gst_harness_teardown(h);
  return out;
}

/* Bytes of plane `plane` that differ between two frames of `info`, inside
 * and outside the rectangle `keep` (in luma pixels). */
static std::pair<int, int> changed_plane_bytes(GstVideoInfo* info, GstBuffer* a, GstBuffer* b,
                                               int plane, const cv::Rect& keep) {
  GstVideoFrame fa, fb;
  fail_unless(gst_video_frame_map(&fa, info, a, GST_MAP_READ));
  fail_unless(gst_video_frame_map(&fb, info, b, GST_MAP_READ));
  const int rows = GST_VIDEO_FRAME_COMP_HEIGHT(&fa, plane);
  const int bytes = GST_VIDEO_FRAME_COMP_WIDTH(&fa, plane) * GST_VIDEO_FRAME_COMP_PSTRIDE(&fa, plane);
  const int scale = plane == 0 ? 1 : 2;
  int inside = 0, outside = 0;
  for (int y = 0; y < rows; ++y) {
    const auto* ra = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&fa, plane)) +
                     y * GST_VIDEO_FRAME_PLANE_STRIDE(&fa, plane);
    const auto* rb = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&fb, plane)) +
                     y * GST_VIDEO_FRAME_PLANE_STRIDE(&fb, plane);
    for (int x = 0; x < bytes; ++x) {
      if (ra[x] == rb[x]) continue;
      const int px = x / GST_VIDEO_FRAME_COMP_PSTRIDE(&fa, plane) * scale, py = y * scale;
      (keep.contains(cv::Point(px, py)) ? inside : outside) += 1;
    }
  }
  gst_video_frame_unmap(&fa);
  gst_video_frame_unmap(&fb);
  return {inside, outside};
}

/* Mean absolute difference of the luma (BT.601 weights) and of the colours
 * of two RGB pictures. */
static std::pair<double, double> luma_and_colour_difference(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat ga, gb, diff;
  cv::cvtColor(a, ga, cv::COLOR_RGB2GRAY);
  cv::cvtColor(b, gb, cv::COLOR_RGB2GRAY);
  cv::absdiff(ga, gb, diff);
  const double luma = cv::mean(diff)[0];
  cv::absdiff(a, b, diff);
  const cv::Scalar colour = cv::mean(diff);
  return {luma, (colour[0] + colour[1] + colour[2]) / 3};
}

/* I420 and NV12 as decoders give them: in and out in the same format, the
 * planes changed only where the face changed the picture, and the result
 * the RGB path's on the same picture. */
GST_START_TEST(test_full_i420_and_nv12) {
  const cv::Mat frame = load_rgb("astronaut.png", kImages);
  for (const char* format : {"I420", "NV12"}) {
    const std::string to_yuv = std::string("videoconvert ! capsfilter caps=video/x-raw,format=") + format;
    const std::string to_rgb = " ! videoconvert ! capsfilter caps=video/x-raw,format=RGB";
    const cv::Mat seen = through_chain(to_yuv + to_rgb, frame);
    const cv::Mat expected = through_chain(enhance_chain(), seen);
    cv::Mat changed;
    cv::cvtColor(cv::abs(expected - seen) + cv::abs(seen - expected), changed, cv::COLOR_RGB2GRAY);
    std::vector<cv::Point> where;
    cv::findNonZero(changed, where);
    fail_unless(where.size() > 2000u);
    // Whole chroma blocks around what the RGB path changed, and a pixel
    // more for the rounding of two conversions.
    cv::Rect around = cv::boundingRect(where);
    around = cv::Rect(around.x - 3, around.y - 3, around.width + 6, around.height + 6) &
             cv::Rect(0, 0, frame.cols, frame.rows);

    GstCaps* in_caps = nullptr;
    GstCaps* out_caps = nullptr;
    GstBuffer* in = chain_output(to_yuv, frame, &in_caps);
    GstBuffer* out = chain_output(to_yuv + " ! " + enhance_chain(), frame, &out_caps);
    fail_unless(gst_caps_is_equal(in_caps, out_caps), "caps %" GST_PTR_FORMAT " became %" GST_PTR_FORMAT,
                in_caps, out_caps);
    GstVideoInfo info;
    fail_unless(gst_video_info_from_caps(&info, out_caps));
    for (int plane = 0; plane < static_cast<int>(GST_VIDEO_INFO_N_PLANES(&info)); ++plane) {
      const auto [inside, outside] = changed_plane_bytes(&info, in, out, plane, around);
      fail_unless_equals_int(outside, 0);
      fail_unless(inside > (plane == 0 ? 2000 : 300), "%s plane %d: %d bytes changed", format, plane, inside);
    }
    // Close to it, not equal: the element interpolates chroma where
    // videoconvert's fast path repeats it, and the network passes the
    // difference on (the exact check is the batcher's unit test). A wrong
    // matrix or range would be several levels off in luma.
    const cv::Mat got = through_chain(to_yuv + " ! " + enhance_chain() + to_rgb, frame);
    const auto [luma, colour] = luma_and_colour_difference(got(around), expected(around));
    fail_unless(luma < 3.0 && colour < 4.0, "%s: mean difference %.2f in luma, %.2f in colour",
                format, luma, colour);
    // gpenfacedetect reads the same format and finds the same face.
    const cv::Mat detected =
        through_chain(to_yuv + " ! gpenfacedetect ! " + enhance_chain() + to_rgb, frame);
    fail_unless_equals_int(max_level_diff(detected, got), 0);
    gst_caps_unref(in_caps);
    gst_caps_unref(out_caps);
    gst_buffer_unref(in);
    gst_buffer_unref(out);
  }
}
GST_END_TEST;

GST_START_TEST(test_aligned_i420) {
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  const std::string to_yuv = "videoconvert ! capsfilter caps=video/x-raw,format=I420 ! ";
  const std::string to_rgb = " ! videoconvert ! capsfilter caps=video/x-raw,format=RGB";
  const std::string aligned = "gpenenhance model=" + kModel + " batch-size=1 device=cpu face-mode=aligned";
  const cv::Mat seen = through_chain(to_yuv + "videoconvert ! capsfilter caps=video/x-raw,format=RGB", face);
  const cv::Mat expected = through_chain(aligned, seen);
  const cv::Mat got = through_chain(to_yuv + aligned + to_rgb, face);
  const auto [luma, colour] = luma_and_colour_difference(got, expected);
  fail_unless(luma < 3.0 && colour < 5.0, "mean difference %.2f in luma, %.2f in colour", luma, colour);
  fail_unless(changed_pixels(got, seen) > static_cast<int>(face.total() / 2));
}
GST_END_TEST;

GST_START_TEST(test_full_odd_sizes) {
  // Frames far smaller than any face, and odd widths with row padding.
  for (const auto& size : {cv::Size(1, 1), cv::Size(3, 5), cv::Size(33, 17)}) {
    const cv::Mat frame(size, CV_8UC3, cv::Scalar(10, 20, 30));
    GstHarness* h = make_full_harness(make_full_element(1), "RGB", size.width, size.height);
    fail_unless_equals_int(gst_harness_push(h, make_frame(frame, "RGB")), GST_FLOW_OK);
    fail_unless_equals_int(changed_pixels(pull_rgb(h, "RGB", size.width, size.height), frame), 0);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

/* Bytes of a packed single-plane frame that are no pixel's R, G or B (x or
 * alpha bytes, row padding) and do not hold make_frame()'s 0xAB. */
static gsize spoiled_padding_bytes(GstBuffer* buffer, const char* format, int width, int height) {
  GstVideoInfo info = video_info(format, width, height);
  fail_unless_equals_int(GST_VIDEO_INFO_N_PLANES(&info), 1);
  const gsize stride = GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
  std::vector<bool> component(stride, false);
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < width; ++x)
      component[GST_VIDEO_INFO_COMP_OFFSET(&info, c) + static_cast<gsize>(x) * GST_VIDEO_INFO_COMP_PSTRIDE(&info, c)] = true;
  GstMapInfo map;
  fail_unless(gst_buffer_map(buffer, &map, GST_MAP_READ));
  fail_unless(map.size >= stride * height);
  gsize spoiled = 0;
  for (int y = 0; y < height; ++y) {
    const guint8* row = map.data + static_cast<gsize>(y) * stride;
    for (gsize i = 0; i < stride; ++i) spoiled += !component[i] && row[i] != 0xAB;
  }
  gst_buffer_unmap(buffer, &map);
  return spoiled;
}

GST_START_TEST(test_full_7681x4321) {
  // A frame bigger than 8K UHD with odd sides: RGB rows are padded (23,043
  // bytes of pixels in a 23,044-byte stride), BGRx carries its x byte. A
  // smooth background, the 1927 Solvay crowd at the top left and the
  // astronaut at the bottom right, against both far edges.
  const int width = 7681, height = 4321;
  cv::Mat frame(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    cv::Vec3b* row = frame.ptr<cv::Vec3b>(y);
    for (int x = 0; x < width; ++x)
      row[x] = cv::Vec3b(static_cast<uchar>(40 + x * 150 / width), static_cast<uchar>(60 + y * 120 / height), 90);
  }
  const cv::Mat crowd = load_rgb("solvay_1927.png", kImages);
  const cv::Mat astronaut = load_rgb("astronaut.png", kImages);
  const cv::Rect crowd_at(1, 0, crowd.cols, crowd.rows);
  const cv::Rect astronaut_at(width - astronaut.cols, height - astronaut.rows, astronaut.cols, astronaut.rows);
  crowd.copyTo(frame(crowd_at));
  astronaut.copyTo(frame(astronaut_at));
  // Her face, in the frame (see test_facedetect_attaches_face_metas).
  const cv::Rect her_face(astronaut_at.x + 177, astronaut_at.y + 66, 95, 95);
  for (const char* format : {"BGRx", "RGB"}) {
    // Faces of 40-100 px in an 8K frame: searched at full size (the default
    // detection-max-size would look for them at 1000 px, where they are
    // 5-13 px).
    GstElement* element = make_full_element(4);
    g_object_set(element, "detection-max-size", 0u, nullptr);
    GstHarness* h = make_full_harness(element, format, width, height);
    ElementBus watch(h->element);
    fail_unless_equals_int(gst_harness_push(h, stamped(make_frame(frame, format), 7)), GST_FLOW_OK);
    fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
    GstBuffer* out = gst_harness_pull(h);
    fail_unless(out != nullptr);
    fail_unless_equals_uint64(GST_BUFFER_PTS(out), 7 * 40 * GST_MSECOND);
    fail_unless_equals_uint64(GST_BUFFER_DURATION(out), 40 * GST_MSECOND);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), 7);
    GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
    GstVideoInfo out_info;
    fail_unless(caps != nullptr && gst_video_info_from_caps(&out_info, caps));
    fail_unless_equals_int(GST_VIDEO_INFO_WIDTH(&out_info), width);
    fail_unless_equals_int(GST_VIDEO_INFO_HEIGHT(&out_info), height);
    fail_unless_equals_string(GST_VIDEO_INFO_NAME(&out_info), format);
    gst_caps_unref(caps);
    fail_unless_equals_int(spoiled_padding_bytes(out, format, width, height), 0);
    const cv::Mat rgb = frame_rgb(out, format, width, height);
    gst_buffer_unref(out);
    fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
    // The faces found are in the pictures (a box may reach over a picture's
    // edge), not in the background; hers is one of them and was restored.
    GstMessage* m = gst_bus_pop_filtered(watch.bus, GST_MESSAGE_ELEMENT);
    fail_unless(m != nullptr, "no gpen-faces message");
    const GstStructure* s = gst_message_get_structure(m);
    fail_unless(gst_structure_has_name(s, "gpen-faces"), "%s", gst_structure_get_name(s));
    const GValue* boxes = gst_structure_get_value(s, "boxes");
    const guint faces = gst_value_array_get_size(boxes);
    GST_INFO("%s %dx%d: %u faces", format, width, height, faces);
    fail_unless(faces >= 11 && faces <= 41, "%u faces", faces);
    bool found_her = false;
    cv::Mat outside_out = rgb.clone(), outside_in = frame.clone();
    for (guint i = 0; i < faces; ++i) {
      const GstStructure* box = gst_value_get_structure(gst_value_array_get_value(boxes, i));
      gint x = 0, y = 0, w = 0, hgt = 0;
      fail_unless(gst_structure_get(box, "x", G_TYPE_INT, &x, "y", G_TYPE_INT, &y, "width", G_TYPE_INT, &w,
                                    "height", G_TYPE_INT, &hgt, nullptr));
      const cv::Rect r(x, y, w, hgt);
      const cv::Point centre(x + w / 2, y + hgt / 2);
      fail_unless(crowd_at.contains(centre) || astronaut_at.contains(centre), "a face at %d,%d %dx%d", x, y, w, hgt);
      if ((r & her_face).area() > her_face.area() / 2) {
        found_her = true;
        fail_unless(changed_pixels(rgb(r), frame(r)) > r.area() / 2);
      }
      // Pixels more than twice a face's size from its centre cannot change.
      const int reach = 2 * std::max(w, hgt);
      const cv::Rect near = cv::Rect(x + w / 2 - reach, y + hgt / 2 - reach, 2 * reach, 2 * reach) &
                            cv::Rect(0, 0, width, height);
      outside_out(near).setTo(cv::Scalar(0, 0, 0));
      outside_in(near).setTo(cv::Scalar(0, 0, 0));
    }
    gst_message_unref(m);
    fail_unless(found_her, "the astronaut's face was not found");
    fail_unless_equals_int(changed_pixels(outside_out, outside_in), 0);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

GST_START_TEST(test_missing_detector_model_is_an_error) {
  GstElement* element = make_full_element(1);
  g_object_set(element, "detector-model", "/nonexistent/RetinaFace-R50.pth", nullptr);
  const std::string text = start_error(element);
  fail_unless(text.find("/nonexistent/RetinaFace-R50.pth") != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("not found") != std::string::npos, "%s", text.c_str());
}
GST_END_TEST;

GST_START_TEST(test_retinaface_detector_loads_and_runs) {
  // The fixture RetinaFace (random weights) on its own input finds the six
  // faces the reference finds at its threshold; every frame comes out, in
  // order, with them.
  const std::string dir = std::string(GPEN_TEST_DATA_DIR) + "/retinaface-mnet/";
  const cv::Mat frame = load_rgb("retinaface-mnet_in.png", dir);
  GstElement* element = make_full_element(4);
  g_object_set(element, "detector-model", (dir + "retinaface-mnet.pth").c_str(),
               "detection-threshold", 0.51, nullptr);
  GstHarness* h = make_full_harness(element, "RGB", frame.cols, frame.rows);
  ElementBus watch(h->element);
  GstBus* bus = watch.bus;
  for (int i = 0; i < 3; ++i) gst_harness_push(h, stamped(make_frame(frame, "RGB"), i));
  gst_harness_push_event(h, gst_event_new_eos());
  for (int i = 0; i < 3; ++i) {
    GstBuffer* out = gst_harness_pull(h);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), i);
    gst_buffer_unref(out);
  }
  const auto counts = face_counts(bus);
  fail_unless_equals_int(counts.size(), 3);
  for (const guint count : counts) fail_unless_equals_int(count, 6);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_wrong_detector_model_is_an_error) {
  GstElement* element = make_full_element(1);
  g_object_set(element, "detector-model", kModel.c_str(), nullptr);  // a GPEN file
  const std::string text = start_error(element);
  fail_unless(text.find(kModel) != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("RetinaFace") != std::string::npos, "%s", text.c_str());
}
GST_END_TEST;

/* paste-mask: parse pastes each face through its face-parsing mask (the
 * fixture ParseNet, random weights: a meaningless but deterministic mask),
 * which is not the rectangle; pixels no face reaches stay bit-identical. */
static const std::string kParseModel =
    std::string(GPEN_TEST_DATA_DIR) + "/parsenet-128/parsenet-128.pth";

static cv::Mat full_frame_with(const cv::Mat& frame, const char* paste_mask,
                               const std::string& parse_model) {
  GstElement* element = make_full_element(1);
  gst_util_set_object_arg(G_OBJECT(element), "paste-mask", paste_mask);
  if (!parse_model.empty()) g_object_set(element, "parse-model", parse_model.c_str(), nullptr);
  GstHarness* h = make_full_harness(element, "RGB", frame.cols, frame.rows);
  fail_unless_equals_int(gst_harness_push(h, stamped(make_frame(frame, "RGB"), 0)), GST_FLOW_OK);
  const cv::Mat out = pull_rgb(h, "RGB", frame.cols, frame.rows);
  gst_harness_teardown(h);
  return out;
}

GST_START_TEST(test_parse_mask_pastes_through_the_parse) {
  const cv::Mat frame = load_rgb("astronaut.png", kImages);
  GstElement* element = gst_element_factory_make("gpenenhance", nullptr);
  gint mask = -1;
  g_object_get(element, "paste-mask", &mask, nullptr);
  fail_unless_equals_int(mask, 0);  // auto
  gst_object_unref(element);
  const cv::Mat rectangle = full_frame_with(frame, "rectangle", "");
  const cv::Mat automatic = full_frame_with(frame, "auto", "");
  fail_unless_equals_int(changed_pixels(rectangle, automatic), 0);
  const cv::Mat parsed = full_frame_with(frame, "parse", kParseModel);
  const cv::Mat parsed_auto = full_frame_with(frame, "auto", kParseModel);
  fail_unless_equals_int(changed_pixels(parsed, parsed_auto), 0);
  // Another mask: other pixels, but only where the rectangle's region is.
  const int changed = changed_pixels(parsed, frame), moved = changed_pixels(parsed, rectangle);
  fail_unless(changed > 100, "%d pixels changed", changed);
  fail_unless(moved > 100, "%d pixels differ from the rectangle mask's", moved);
  cv::Mat diff, any, reach;
  cv::absdiff(rectangle, frame, diff);
  cv::cvtColor(diff, any, cv::COLOR_RGB2GRAY);
  cv::dilate(any > 0, reach, cv::Mat(), cv::Point(-1, -1), 8);
  cv::absdiff(parsed, frame, diff);
  cv::cvtColor(diff, any, cv::COLOR_RGB2GRAY);
  cv::Mat outside = (any > 0) & ~reach;
  fail_unless_equals_int(cv::countNonZero(outside), 0);
}
GST_END_TEST;

GST_START_TEST(test_parse_without_model_is_an_error) {
  GstElement* element = make_full_element(1);
  gst_util_set_object_arg(G_OBJECT(element), "paste-mask", "parse");
  const std::string text = start_error(element);
  fail_unless(text.find("parse-model") != std::string::npos, "%s", text.c_str());
}
GST_END_TEST;

GST_START_TEST(test_wrong_parse_model_is_an_error) {
  GstElement* element = make_full_element(1);
  g_object_set(element, "parse-model", kModel.c_str(), nullptr);  // a GPEN file
  std::string text = start_error(element);
  fail_unless(text.find(kModel) != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("ParseNet") != std::string::npos, "%s", text.c_str());
  element = make_full_element(1);
  g_object_set(element, "parse-model", "/nonexistent/ParseNet-latest.pth", nullptr);
  text = start_error(element);
  fail_unless(text.find("/nonexistent/ParseNet-latest.pth") != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("not found") != std::string::npos, "%s", text.c_str());
  // A truncated download.
  gchar* path = g_build_filename(g_get_tmp_dir(), "parsenet-corrupt-XXXXXX.pth", nullptr);
  const int fd = g_mkstemp(path);
  fail_unless(fd >= 0);
  gchar* contents = nullptr;
  gsize length = 0;
  fail_unless(g_file_get_contents(kParseModel.c_str(), &contents, &length, nullptr));
  fail_unless(write(fd, contents, length / 2) == static_cast<ssize_t>(length / 2));
  close(fd);
  g_free(contents);
  element = make_full_element(1);
  g_object_set(element, "parse-model", path, nullptr);
  text = start_error(element);
  fail_unless(text.find(path) != std::string::npos, "%s", text.c_str());
  g_unlink(path);
  g_free(path);
}
GST_END_TEST;

/* task=colorize in aligned mode: the colorize-64 fixture's gray faces
 * (96 px) through the gpen-64 generator come out as the reference's
 * face_colorization.py makes them, to one level, in one batch of two. */
GST_START_TEST(test_colorize_matches_the_reference) {
  const std::string dir = std::string(GPEN_TEST_DATA_DIR) + "/colorize-64/";
  const std::vector<cv::Mat> inputs = {load_rgb("colorize-64_in0.png", dir),
                                       load_rgb("colorize-64_in1.png", dir)};
  GstElement* element = make_element(2);
  gst_util_set_object_arg(G_OBJECT(element), "task", "colorize");
  GstHarness* h = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);
  gst_harness_set_src_caps_str(h, caps_string("RGBx", 96, 96).c_str());
  for (int i = 0; i < 2; ++i)
    fail_unless_equals_int(gst_harness_push(h, stamped(make_frame(inputs[i], "RGBx"), i)), GST_FLOW_OK);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  for (int i = 0; i < 2; ++i) {
    GstBuffer* out = gst_harness_pull(h);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), i);
    const cv::Mat rgb = frame_rgb(out, "RGBx", 96, 96);
    gst_buffer_unref(out);
    const cv::Mat expected = load_rgb("colorize-64_out" + std::to_string(i) + ".png", dir);
    const int diff = max_level_diff(rgb, expected);
    fail_unless(diff <= 1, "face %d: %d levels from the reference", i, diff);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_colorize_needs_aligned_mode) {
  GstElement* element = make_full_element(1);
  gst_util_set_object_arg(G_OBJECT(element), "task", "colorize");
  const std::string text = start_error(element);
  fail_unless(text.find("face-mode=aligned") != std::string::npos, "%s", text.c_str());
}
GST_END_TEST;

GST_START_TEST(test_full_batch_timeout_and_caps_change) {
  const cv::Mat face = load_rgb("astronaut.png", kImages);
  GstElement* element = make_full_element(8);
  g_object_set(element, "batch-timeout", (guint64)(50 * GST_MSECOND), nullptr);
  GstHarness* h = make_full_harness(element, "RGB", face.cols, face.rows);
  gst_harness_set_live(h, TRUE);
  gst_harness_push(h, stamped(make_frame(face, "RGB"), 0));
  // A batch of eight will not fill: the timeout releases the frame, restored.
  GstBuffer* out = nullptr;
  for (int i = 0; i < 500 && !out; ++i) {
    out = gst_harness_try_pull(h);
    if (!out) g_usleep(10000);
  }
  fail_unless(out != nullptr, "the partial batch was never pushed");
  fail_unless(changed_pixels(frame_rgb(out, "RGB", face.cols, face.rows), face) > 1000);
  gst_buffer_unref(out);
  g_object_set(h->element, "batch-timeout", (guint64)0, nullptr);
  // Two frames held, then new caps (another size and format): they leave
  // first, restored, and the new size works.
  gst_harness_push(h, stamped(make_frame(face, "RGB"), 1));
  gst_harness_push(h, stamped(make_frame(face, "RGB"), 2));
  fail_unless_equals_int(gst_harness_buffers_received(h), 1);
  cv::Mat small;
  cv::resize(face, small, cv::Size(384, 384), 0, 0, cv::INTER_AREA);
  gst_harness_set_src_caps_str(h, caps_string("BGRA", 384, 384).c_str());
  fail_unless_equals_int(gst_harness_buffers_received(h), 3);
  gst_harness_push(h, stamped(make_frame(small, "BGRA"), 3));
  gst_harness_push_event(h, gst_event_new_eos());
  fail_unless_equals_int(gst_harness_buffers_received(h), 4);
  for (int i = 1; i <= 3; ++i) {
    GstBuffer* frame = gst_harness_pull(h);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(frame), i);
    const bool is_small = i == 3;
    const cv::Mat rgb = frame_rgb(frame, is_small ? "BGRA" : "RGB", is_small ? 384 : face.cols,
                                  is_small ? 384 : face.rows);
    fail_unless(changed_pixels(rgb, is_small ? small : face) > 500, "frame %d not restored", i);
    gst_buffer_unref(frame);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ---- pipeline-depth 2: a batch in flight while the next gathers ---------- */

static GstHarness* make_depth_harness(guint batch_size, guint depth) {
  GstElement* element = make_element(batch_size);
  g_object_set(element, "pipeline-depth", depth, nullptr);
  GstHarness* h = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);
  gst_harness_set_src_caps_str(h, caps_string("RGB", 64, 64).c_str());
  return h;
}

/* Frames out in push order, with their offsets, as RGB pictures. */
static std::vector<cv::Mat> pull_in_order(GstHarness* h, int count, int first_offset = 0) {
  std::vector<cv::Mat> out;
  for (int i = 0; i < count; ++i) {
    GstBuffer* buffer = gst_harness_pull(h);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), first_offset + i);
    fail_unless_equals_uint64(GST_BUFFER_PTS(buffer), (first_offset + i) * 40 * GST_MSECOND);
    out.push_back(frame_rgb(buffer, "RGB", 64, 64));
    gst_buffer_unref(buffer);
  }
  return out;
}

GST_START_TEST(test_depth_two_keeps_a_batch_in_flight) {
  const cv::Mat faces[2] = {load_rgb("gpen-64_in0.png"), load_rgb("gpen-64_in1.png")};
  std::vector<cv::Mat> inputs;
  for (int i = 0; i < 7; ++i) inputs.push_back(faces[i % 2]);
  const auto expected = run_frames(inputs, 2);  // one batch at a time

  GstHarness* h = make_depth_harness(2, 2);
  guint depth = 0;
  g_object_get(h->element, "pipeline-depth", &depth, nullptr);
  fail_unless_equals_int(depth, 2);
  // Frames 0-1 are launched and stay in flight; they leave when the next
  // batch (2-3) is launched, which stays in flight in turn.
  const int out_after_push[7] = {0, 0, 0, 2, 2, 4, 4};
  for (int i = 0; i < 7; ++i) {
    fail_unless_equals_int(gst_harness_push(h, stamped(make_frame(inputs[i], "RGB"), i)), GST_FLOW_OK);
    fail_unless_equals_int(gst_harness_buffers_received(h), out_after_push[i]);
  }
  // EOS: the batch in flight (4-5), then the partial one (6).
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  fail_unless_equals_int(gst_harness_buffers_received(h), 7);
  const auto out = pull_in_order(h, 7);
  for (int i = 0; i < 7; ++i) {
    fail_unless_equals_int(max_level_diff(out[i], expected[i]), 0);
    fail_if(max_level_diff(out[i], inputs[i]) == 0, "frame %d not enhanced", i);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_depth_two_timeout_releases_the_batch_in_flight) {
  GstHarness* h = make_depth_harness(2, 2);
  g_object_set(h->element, "batch-timeout", (guint64)(50 * GST_MSECOND), nullptr);
  gst_harness_set_live(h, TRUE);
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  for (int i = 0; i < 2; ++i) gst_harness_push(h, stamped(make_frame(face, "RGB"), i));
  // A full batch, in flight, and no frame after it: only the timeout can
  // release it.
  for (int i = 0; i < 500 && gst_harness_buffers_received(h) < 2; ++i) g_usleep(10000);
  fail_unless_equals_int(gst_harness_buffers_received(h), 2);
  const auto out = pull_in_order(h, 2);
  fail_if(max_level_diff(out[0], face) == 0, "frame not enhanced");
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_depth_two_flush_and_ready_release_frames_in_flight) {
  GstHarness* h = make_depth_harness(2, 2);
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  std::vector<GstBuffer*> pushed;
  for (int i = 0; i < 3; ++i) {  // two in flight, one held
    GstBuffer* buffer = stamped(make_frame(face, "RGB"), i);
    pushed.push_back(gst_buffer_ref(buffer));
    gst_harness_push(h, buffer);
  }
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_start()));
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  for (auto* buffer : pushed) {
    fail_unless_equals_int(GST_MINI_OBJECT_REFCOUNT_VALUE(buffer), 1);
    gst_buffer_unref(buffer);
  }
  pushed.clear();
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  // After the flush the stream starts afresh: 10-11 in flight, 12-13 push them out.
  for (int i = 10; i < 14; ++i) gst_harness_push(h, stamped(make_frame(face, "RGB"), i));
  fail_unless_equals_int(gst_harness_buffers_received(h), 2);
  pull_in_order(h, 2, 10);
  // READY releases the batch in flight too.
  for (int i = 14; i < 16; ++i) {
    GstBuffer* buffer = stamped(make_frame(face, "RGB"), i);
    pushed.push_back(gst_buffer_ref(buffer));
    gst_harness_push(h, buffer);
  }
  fail_unless_equals_int(gst_element_set_state(h->element, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  for (auto* buffer : pushed) {
    fail_unless_equals_int(GST_MINI_OBJECT_REFCOUNT_VALUE(buffer), 1);
    gst_buffer_unref(buffer);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_depth_two_keeps_order_across_strength_and_caps_changes) {
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  GstHarness* h = make_depth_harness(2, 2);
  for (int i = 0; i < 2; ++i) gst_harness_push(h, stamped(make_frame(face, "RGB"), i));
  // Strength 0 from frame 2 on: frames 2-3 pass through, after 0-1, and
  // have nothing to wait for.
  g_object_set(h->element, "strength", 0.0, nullptr);
  gst_harness_push(h, stamped(make_frame(face, "RGB"), 2));
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  gst_harness_push(h, stamped(make_frame(face, "RGB"), 3));
  fail_unless_equals_int(gst_harness_buffers_received(h), 4);
  g_object_set(h->element, "strength", 1.0, nullptr);
  for (int i = 4; i < 7; ++i) gst_harness_push(h, stamped(make_frame(face, "RGB"), i));
  fail_unless_equals_int(gst_harness_buffers_received(h), 4);
  // New caps: the three waiting (4-5 in flight, 6 held) leave, in order,
  // before them.
  gst_harness_set_src_caps_str(h, caps_string("RGB", 64, 64, 30).c_str());
  fail_unless_equals_int(gst_harness_buffers_received(h), 7);
  const auto out = pull_in_order(h, 7);
  for (int i = 0; i < 7; ++i) {
    const bool original = i == 2 || i == 3;
    fail_unless_equals_int(max_level_diff(out[i], face) == 0, original);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_depth_two_latency_and_allocation) {
  GstHarness* h = make_depth_harness(4, 2);
  gst_harness_set_live(h, TRUE);
  gst_harness_set_upstream_latency(h, 10 * GST_MSECOND);
  // 25 fps, batch 4, a batch in flight: the first frame of a batch waits for
  // its three followers and the next four.
  fail_unless_equals_uint64(gst_harness_query_latency(h), 10 * GST_MSECOND + 280 * GST_MSECOND);
  g_object_set(h->element, "batch-timeout", (guint64)(20 * GST_MSECOND), nullptr);
  fail_unless_equals_uint64(gst_harness_query_latency(h), 10 * GST_MSECOND + 20 * GST_MSECOND);
  // Upstream must be able to allocate two batches while we hold them.
  GstCaps* caps = gst_caps_from_string(caps_string("RGB", 64, 64).c_str());
  GstQuery* query = gst_query_new_allocation(caps, TRUE);
  fail_unless(gst_pad_peer_query(h->srcpad, query));
  guint size = 0, min = 0, max = 0;
  gst_query_parse_nth_allocation_pool(query, 0, nullptr, &size, &min, &max);
  fail_unless(min >= 8, "min buffers %u", min);
  gst_query_unref(query);
  gst_caps_unref(caps);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_depth_is_one_on_the_cpu_and_in_full_mode) {
  // Automatic on the CPU: one batch at a time (a full batch leaves at once).
  GstHarness* h = make_depth_harness(2, 0);
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  for (int i = 0; i < 2; ++i) gst_harness_push(h, stamped(make_frame(face, "RGB"), i));
  fail_unless_equals_int(gst_harness_buffers_received(h), 2);
  gst_harness_teardown(h);
  // Full mode, automatic: one batch at a time too.
  const cv::Mat frame = load_rgb("astronaut.png", kImages);
  h = make_full_harness(make_full_element(1), "RGB", frame.cols, frame.rows);
  gst_harness_push(h, stamped(make_frame(frame, "RGB"), 0));
  fail_unless_equals_int(gst_harness_buffers_received(h), 1);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Full mode with pipeline-depth 2: a batch's frames leave when the next
 * batch launches; EOS and a caps change drain both, a flush drops them. */
GST_START_TEST(test_full_batch_in_flight) {
  const cv::Mat frame = load_rgb("astronaut.png", kImages);
  GstElement* element = make_full_element(1);
  g_object_set(element, "pipeline-depth", 2u, nullptr);
  GstHarness* h = make_full_harness(element, "RGB", frame.cols, frame.rows);
  gst_harness_push(h, stamped(make_frame(frame, "RGB"), 0));
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);  // in flight
  gst_harness_push(h, stamped(make_frame(frame, "RGB"), 1));
  fail_unless_equals_int(gst_harness_buffers_received(h), 1);
  // A caps change drains the batch in flight before the new caps.
  gst_harness_set_src_caps_str(h, caps_string("RGB", frame.cols, frame.rows, 30).c_str());
  gst_harness_push(h, stamped(make_frame(frame, "RGB"), 2));
  fail_unless_equals_int(gst_harness_buffers_received(h), 2);
  // A flush drops the one in flight; EOS drains the next.
  flush_and_restart(h);
  gst_harness_push(h, stamped(make_frame(frame, "RGB"), 3));
  fail_unless_equals_int(gst_harness_buffers_received(h), 2);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  fail_unless_equals_int(gst_harness_buffers_received(h), 3);
  const guint64 expected[3] = {0, 1, 3};
  for (const guint64 index : expected) {
    GstBuffer* out = gst_harness_pull(h);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), index);
    const cv::Mat rgb = frame_rgb(out, "RGB", frame.cols, frame.rows);
    fail_unless(changed_pixels(rgb, frame) > 2000, "frame %" G_GUINT64_FORMAT " not restored", index);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ---- model-instance-id: streams sharing one engine ---------------------- */

static GstHarness* make_shared_harness(const char* name, const char* id, guint batch_size,
                                       int width, int height, GstElement** element_out = nullptr) {
  GstElement* element = make_element(batch_size);
  gst_object_set_name(GST_OBJECT(element), name);
  g_object_set(element, "model-instance-id", id, nullptr);
  if (element_out) *element_out = element;
  GstHarness* h = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);
  gst_harness_set_src_caps_str(h, caps_string("RGB", width, height).c_str());
  return h;
}

static cv::Mat sized_face(int index, int width, int height) {
  cv::Mat face = load_rgb(index % 2 ? "gpen-64_in1.png" : "gpen-64_in0.png"), out;
  cv::resize(face, out, cv::Size(width, height), 0, 0, cv::INTER_AREA);
  return out;
}

/* Pulls `count` frames (waiting: frames of one stream may be finished by
 * another's push and pushed by its timeout thread); checks their offsets
 * and timestamps follow from `offset` and returns their pictures. */
static std::vector<cv::Mat> pull_stream(GstHarness* h, int count, int offset, int width,
                                        int height) {
  std::vector<cv::Mat> out;
  for (int i = 0; i < count; ++i) {
    GstBuffer* buffer = gst_harness_pull(h);
    fail_unless(buffer != nullptr, "frame %d never came", i);
    const guint64 expected = static_cast<guint64>(offset + i);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), expected);
    fail_unless_equals_uint64(GST_BUFFER_PTS(buffer), expected * 40 * GST_MSECOND);
    out.push_back(frame_rgb(buffer, "RGB", width, height));
    gst_buffer_unref(buffer);
  }
  return out;
}

/* The gpen-stats batches= of the last such message on the bus. */
static guint64 stats_batches(GstBus* bus) {
  guint64 batches = 0;
  while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure* st = gst_message_get_structure(m);
    if (gst_structure_has_name(st, "gpen-stats")) gst_structure_get_uint64(st, "batches", &batches);
    gst_message_unref(m);
  }
  return batches;
}

/* Four streams of four frame sizes, frames pushed in turn, share one engine:
 * each batch takes a frame of each, every frame comes out once, in its
 * stream's order with its timestamps, as a private element makes it. */
GST_START_TEST(test_shared_four_streams_interleaved) {
  const int sizes[4][2] = {{64, 64}, {40, 48}, {72, 80}, {32, 32}};
  constexpr int kFrames = 3;
  GstHarness* h[4];
  GstElement* last = nullptr;
  for (int s = 0; s < 4; ++s) {
    const std::string name = "cam" + std::to_string(s);
    h[s] = make_shared_harness(name.c_str(), "four", 4, sizes[s][0], sizes[s][1], &last);
  }
  ElementBus bus(last);
  for (int f = 0; f < kFrames; ++f)
    for (int s = 0; s < 4; ++s)
      fail_unless_equals_int(
          gst_harness_push(h[s], stamped(make_frame(sized_face(s + f, sizes[s][0], sizes[s][1]),
                                                    "RGB"), f)),
          GST_FLOW_OK);
  for (int s = 0; s < 4; ++s) {
    const auto out = pull_stream(h[s], kFrames, 0, sizes[s][0], sizes[s][1]);
    for (int f = 0; f < kFrames; ++f) {
      const auto alone = run_frames({sized_face(s + f, sizes[s][0], sizes[s][1])}, 1);
      fail_unless_equals_int(max_level_diff(out[f], alone[0]), 0);
    }
  }
  // Each round of four frames was one batch: three in all, for all streams.
  fail_unless(gst_harness_push_event(h[3], gst_event_new_eos()));
  fail_unless_equals_uint64(stats_batches(bus.bus), kFrames);
  for (int s = 0; s < 4; ++s) {
    fail_unless_equals_int(gst_harness_buffers_in_queue(h[s]), 0);
    gst_harness_teardown(h[s]);
  }
}
GST_END_TEST;

/* A stream's flush discards its own held frames only; its EOS drains its own
 * and leaves the others' batch to fill. */
GST_START_TEST(test_shared_flush_and_early_eos) {
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  GstHarness* a = make_shared_harness("flushing", "flush", 4, 64, 64);
  GstHarness* b = make_shared_harness("steady", "flush", 4, 64, 64);
  GstHarness* c = make_shared_harness("early", "flush", 4, 64, 64);
  gst_harness_push(a, stamped(make_frame(face, "RGB"), 0));
  gst_harness_push(a, stamped(make_frame(face, "RGB"), 1));
  gst_harness_push(b, stamped(make_frame(face, "RGB"), 0));
  flush_and_restart(a);  // a's two frames go, b's stays
  gst_harness_push(c, stamped(make_frame(face, "RGB"), 0));
  fail_unless(gst_harness_push_event(c, gst_event_new_eos()));  // c ends early
  pull_stream(c, 1, 0, 64, 64);
  fail_unless_equals_int(gst_harness_buffers_received(a), 0);
  // b goes on; a restarts from frame 10.
  for (int i = 1; i < 3; ++i) gst_harness_push(b, stamped(make_frame(face, "RGB"), i));
  gst_harness_push(a, stamped(make_frame(face, "RGB"), 10));
  gst_harness_push(b, stamped(make_frame(face, "RGB"), 3));
  pull_stream(b, 4, 0, 64, 64);
  fail_unless(gst_harness_push_event(a, gst_event_new_eos()));
  pull_stream(a, 1, 10, 64, 64);
  fail_unless_equals_int(gst_harness_buffers_received(a), 1);
  fail_unless_equals_int(gst_harness_buffers_received(b), 4);
  fail_unless_equals_int(gst_harness_buffers_received(c), 1);
  gst_harness_teardown(a);
  gst_harness_teardown(b);
  gst_harness_teardown(c);
}
GST_END_TEST;

/* Elements sharing an id must agree on the model's properties: the second
 * is refused with an error naming both and the property. */
GST_START_TEST(test_shared_property_mismatch_is_an_error) {
  GstHarness* first = make_shared_harness("gpen-first", "strict", 4, 64, 64);
  GstElement* second = make_element(2);
  gst_object_set_name(GST_OBJECT(second), "gpen-second");
  g_object_set(second, "model-instance-id", "strict", nullptr);
  const std::string text = start_error(second);
  fail_unless(text.find("batch-size") != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("gpen-first") != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("gpen-second") != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("strict") != std::string::npos, "%s", text.c_str());
  // The first plays on.
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  for (int i = 0; i < 4; ++i) gst_harness_push(first, stamped(make_frame(face, "RGB"), i));
  pull_stream(first, 4, 0, 64, 64);
  gst_harness_teardown(first);
}
GST_END_TEST;

/* Elements join and leave an engine while another plays; the last to leave
 * frees it (a new element of that id then loads its own, with other
 * properties). */
GST_START_TEST(test_shared_elements_come_and_go) {
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  GstHarness* a = make_shared_harness("stays", "fleet", 2, 64, 64);
  gst_harness_push(a, stamped(make_frame(face, "RGB"), 0));
  GstHarness* b = make_shared_harness("visits", "fleet", 2, 64, 64);
  gst_harness_push(b, stamped(make_frame(face, "RGB"), 0));  // fills the batch with a's
  pull_stream(b, 1, 0, 64, 64);
  pull_stream(a, 1, 0, 64, 64);
  gst_harness_push(b, stamped(make_frame(face, "RGB"), 1));
  gst_harness_teardown(b);  // leaves with a frame held: dropped
  gst_harness_push(a, stamped(make_frame(face, "RGB"), 1));
  fail_unless_equals_int(gst_harness_buffers_received(a), 1);  // b's frame no longer counts
  GstHarness* c = make_shared_harness("joins", "fleet", 2, 64, 64);
  gst_harness_push(c, stamped(make_frame(face, "RGB"), 0));
  pull_stream(a, 1, 1, 64, 64);
  pull_stream(c, 1, 0, 64, 64);
  gst_harness_teardown(a);
  gst_harness_teardown(c);
  // Nobody holds "fleet" now: other properties are no mismatch.
  GstHarness* d = make_shared_harness("after", "fleet", 1, 64, 64);
  gst_harness_push(d, stamped(make_frame(face, "RGB"), 0));
  pull_stream(d, 1, 0, 64, 64);
  gst_harness_teardown(d);
}
GST_END_TEST;

/* A stream's batch-timeout bounds its own frames' wait, whoever else shares. */
GST_START_TEST(test_shared_batch_timeout_per_stream) {
  GstHarness* slow = make_shared_harness("waits", "timeouts", 8, 64, 64);
  GstElement* quick_element = nullptr;
  GstHarness* quick = make_shared_harness("hurries", "timeouts", 8, 64, 64, &quick_element);
  g_object_set(quick_element, "batch-timeout", (guint64)(50 * GST_MSECOND), nullptr);
  gst_harness_set_live(quick, TRUE);
  const cv::Mat face = load_rgb("gpen-64_in0.png");
  gst_harness_push(slow, stamped(make_frame(face, "RGB"), 0));
  gst_harness_push(quick, stamped(make_frame(face, "RGB"), 0));
  GstBuffer* out = nullptr;
  for (int i = 0; i < 500 && !out; ++i) {
    out = gst_harness_try_pull(quick);
    if (!out) g_usleep(10000);
  }
  fail_unless(out != nullptr, "the quick stream's frame was never pushed");
  gst_buffer_unref(out);
  // The slow stream's frame may have ridden along; it is pushed either way
  // at its EOS, once.
  fail_unless(gst_harness_push_event(slow, gst_event_new_eos()));
  pull_stream(slow, 1, 0, 64, 64);
  fail_unless_equals_int(gst_harness_buffers_received(slow), 1);
  gst_harness_teardown(slow);
  gst_harness_teardown(quick);
}
GST_END_TEST;

/* Full mode: faces of two streams share batches; each stream's frame is
 * what a private element makes of it. */
GST_START_TEST(test_shared_full_mode_matches_private) {
  const cv::Mat photo = load_rgb("astronaut.png", kImages);
  const int w = photo.cols, hgt = photo.rows;
  GstHarness* h[2];
  for (int s = 0; s < 2; ++s) {
    GstElement* element = make_full_element(2);
    g_object_set(element, "model-instance-id", "full", nullptr);
    h[s] = make_full_harness(element, "RGB", w, hgt);
  }
  gst_harness_push(h[0], stamped(make_frame(photo, "RGB"), 0));
  gst_harness_push(h[1], stamped(make_frame(photo, "RGB"), 0));
  const auto a = pull_stream(h[0], 1, 0, w, hgt), b = pull_stream(h[1], 1, 0, w, hgt);
  GstHarness* alone = make_full_harness(make_full_element(1), "RGB", w, hgt);
  gst_harness_push(alone, stamped(make_frame(photo, "RGB"), 0));
  const auto ref = pull_stream(alone, 1, 0, w, hgt);
  fail_unless(changed_pixels(a[0], photo) > 0);
  fail_unless_equals_int(max_level_diff(a[0], ref[0]), 0);
  fail_unless_equals_int(max_level_diff(b[0], ref[0]), 0);
  gst_harness_teardown(alone);
  gst_harness_teardown(h[0]);
  gst_harness_teardown(h[1]);
}
GST_END_TEST;

static Suite* gpenenhance_suite(void) {
  Suite* s = suite_create("gpenenhance");
  TCase* tc = tcase_create("general");
  tcase_set_timeout(tc, 600);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_matches_reference_pngs);
  tcase_add_test(tc, test_all_formats_agree);
  tcase_add_test(tc, test_alpha_untouched);
  tcase_add_test(tc, test_batch_invariance);
  tcase_add_test(tc, test_order_and_timestamps_after_eos);
  tcase_add_test(tc, test_flush_discards_held_frames);
  tcase_add_test(tc, test_caps_change_drains);
  tcase_add_test(tc, test_latency_query);
  tcase_add_test(tc, test_batch_timeout_pushes_partial_batch);
  tcase_add_test(tc, test_resizes_to_model_and_back);
  tcase_add_test(tc, test_strength);
  tcase_add_test(tc, test_properties);
  tcase_add_test(tc, test_propose_allocation_asks_for_a_batch);
  tcase_add_test(tc, test_paused_to_ready_releases_held_frames);
  tcase_add_test(tc, test_events_meet_an_inactive_source_pad);
  tcase_add_test(tc, test_refused_caps_are_not_negotiated);
  tcase_add_test(tc, test_missing_model_is_an_error);
  tcase_add_test(tc, test_corrupt_model_is_an_error);
  tcase_add_test(tc, test_wrong_kind_of_model_is_an_error);
  tcase_add_test(tc, test_no_model_is_an_error);
  tcase_add_test(tc, test_unavailable_cuda_is_an_error);
  tcase_add_test(tc, test_pipeline_over_png_files);
  tcase_add_test(tc, test_full_is_the_default_mode);
  tcase_add_test(tc, test_full_detection_threads_and_stats);
  tcase_add_test(tc, test_full_detection_threads_flush);
  tcase_add_test(tc, test_full_batch_in_flight);
  tcase_add_test(tc, test_full_restores_the_face_and_nothing_else);
  tcase_add_test(tc, test_full_many_faces_in_several_batches);
  tcase_add_test(tc, test_full_max_faces);
  tcase_add_test(tc, test_full_mixed_stream_keeps_order_and_timestamps);
  tcase_add_test(tc, test_full_honours_upstream_face_metas);
  tcase_add_test(tc, test_detect_then_enhance_equals_one_element);
  tcase_add_test(tc, test_detect_convert_enhance_equals_one_element);
  tcase_add_test(tc, test_detect_flip_enhance_detects_again);
  tcase_add_test(tc, test_detection_marker_scales_with_the_frame);
  tcase_add_test(tc, test_facedetect_attaches_face_metas);
  tcase_add_test(tc, test_detected_frame_without_faces_is_not_searched_again);
  tcase_add_test(tc, test_full_strength_zero_passes_frames_untouched);
  tcase_add_test(tc, test_full_odd_sizes);
  tcase_add_test(tc, test_full_i420_and_nv12);
  tcase_add_test(tc, test_aligned_i420);
  tcase_add_test(tc, test_full_7681x4321);
  tcase_add_test(tc, test_missing_detector_model_is_an_error);
  tcase_add_test(tc, test_retinaface_detector_loads_and_runs);
  tcase_add_test(tc, test_wrong_detector_model_is_an_error);
  tcase_add_test(tc, test_full_batch_timeout_and_caps_change);
  tcase_add_test(tc, test_depth_two_keeps_a_batch_in_flight);
  tcase_add_test(tc, test_depth_two_timeout_releases_the_batch_in_flight);
  tcase_add_test(tc, test_depth_two_flush_and_ready_release_frames_in_flight);
  tcase_add_test(tc, test_depth_two_keeps_order_across_strength_and_caps_changes);
  tcase_add_test(tc, test_depth_two_latency_and_allocation);
  tcase_add_test(tc, test_depth_is_one_on_the_cpu_and_in_full_mode);
  tcase_add_test(tc, test_parse_mask_pastes_through_the_parse);
  tcase_add_test(tc, test_parse_without_model_is_an_error);
  tcase_add_test(tc, test_wrong_parse_model_is_an_error);
  tcase_add_test(tc, test_colorize_matches_the_reference);
  tcase_add_test(tc, test_colorize_needs_aligned_mode);
  tcase_add_test(tc, test_shared_four_streams_interleaved);
  tcase_add_test(tc, test_shared_flush_and_early_eos);
  tcase_add_test(tc, test_shared_property_mismatch_is_an_error);
  tcase_add_test(tc, test_shared_elements_come_and_go);
  tcase_add_test(tc, test_shared_batch_timeout_per_stream);
  tcase_add_test(tc, test_shared_full_mode_matches_private);
  return s;
}

GST_CHECK_MAIN(gpenenhance);
