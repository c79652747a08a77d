/* gpenenhance: restores faces with GPEN, batching faces for the network.
 *
 * face-mode=aligned: every frame is one aligned face; frames are held (in
 * place, no copy) until a batch is full.
 * face-mode=full: faces come from upstream face ROI metas or the built-in
 * detector; their aligned crops are gathered across frames into batches
 * (gpen::FrameRestorer), and pasted back.
 *
 * Either way frames wait until their faces' batch is full, the batch timeout
 * expires, or a serialized event that must not overtake them arrives (EOS,
 * CAPS, SEGMENT, STREAM_START, GAP); they leave in arrival order with their
 * timestamps, flags and metas. With pipeline-depth 2 (aligned mode; the
 * default on CUDA) a full batch is launched and left to the device while
 * the next one gathers: it leaves when that one is launched in turn.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstgpenenhance.h"

#include <gst/video/video.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "batch_policy.h"
#include "error.h"
#include "face_detector.h"
#include "face_enhancer.h"
#include "frame_restorer.h"
#include "gstgpendetectorprops.h"
#include "gstgpenevents.h"
#include "gstgpenfaces.h"
#include "gstgpenframe.h"
#include "gstgpenload.h"
#include "pixel_transfer.h"

GST_DEBUG_CATEGORY_STATIC(gst_gpen_enhance_debug);
#define GST_CAT_DEFAULT gst_gpen_enhance_debug

namespace {

constexpr guint kDefaultBatchSize = 0;
constexpr guint kDefaultPipelineDepth = 0;
constexpr guint kMaxPipelineDepth = 2;
constexpr guint64 kDefaultBatchTimeout = 0;
constexpr const char* kDefaultDevice = "auto";
constexpr double kDefaultStrength = 1.0;
constexpr GstGpenFaceMode kDefaultFaceMode = GST_GPEN_FACE_MODE_FULL;
constexpr GstGpenMessages kDefaultMessages = GST_GPEN_MESSAGES_FRAME;

enum {
  PROP_0,
  PROP_MODEL,
  PROP_FACE_MODE,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_STRENGTH,
  PROP_CURRENT_BATCH_SIZE,
  PROP_CURRENT_DEVICE,
  PROP_DENOISE,
  PROP_SHARPEN,
  PROP_MESSAGES,
  PROP_PIPELINE_DEPTH,
  PROP_DETECTOR_FIRST,  // the shared detector properties follow
};

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GPEN_VIDEO_CAPS));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GPEN_VIDEO_CAPS));

// Property values, guarded by the object lock.
struct Settings {
  std::string model;
  GstGpenFaceMode face_mode = kDefaultFaceMode;
  guint batch_size = kDefaultBatchSize;
  guint pipeline_depth = kDefaultPipelineDepth;
  guint64 batch_timeout = kDefaultBatchTimeout;
  std::string device = kDefaultDevice;
  GstGpenPrecision precision = GST_GPEN_PRECISION_AUTO;
  double strength = kDefaultStrength;
  double denoise = 0.0;
  double sharpen = 0.0;
  GstGpenMessages messages = kDefaultMessages;
  GpenDetectorSettings detection;
};

using Clock = std::chrono::steady_clock;

/* A frame on its way out: mapped for writing while its results are on the
 * way (aligned mode: from the launch of its batch; full mode: while the
 * restorer's pixels are written back), with the faces restored in it. */
struct Outgoing {
  GstBuffer* buffer = nullptr;
  GstVideoFrame mapped{};
  bool is_mapped = false;
  std::vector<gpen::FaceDetection> faces;
};
// A deque, so that mapped frames do not move as more are added.
using OutgoingFrames = std::deque<Outgoing>;

}  // namespace

// The element's C++ state, created in _init and deleted in finalize.
struct GpenEnhancePrivate {
  Settings settings;

  // Set in start(), cleared in stop(); used from the streaming thread and the
  // batch-timeout thread, both of which hold the sink pad's stream lock.
  std::unique_ptr<gpen::FaceEnhancer> enhancer;
  // face-mode=full only: the detector for frames without face metas, and
  // the batching of faces across frames.
  std::unique_ptr<gpen::FaceDetector> detector;
  std::unique_ptr<gpen::FrameRestorer> restorer;
  GstGpenFaceMode face_mode = kDefaultFaceMode;  // the mode started with
  std::uint64_t next_frame_id = 0;
  int batch_size = 1;             // what the element uses (batch-size or automatic)
  int pipeline_depth = 1;         // what the element uses: batches under way at most
  // Read by other threads (properties, LATENCY queries): written and read
  // under the object lock.
  std::string active_device;      // current-device; empty when not loaded
  guint current_batch_size = 0;   // current-batch-size; 0 when not loaded
  guint current_pipeline_depth = 1;  // pipeline_depth, for LATENCY and ALLOCATION queries
  gint fps_n = 0, fps_d = 1;      // the stream's frame rate, for the latency
  GstVideoInfo info;
  bool have_info = false;

  // Frames waiting for their batch, in arrival order (in full mode, the
  // frames inside `restorer`, in the same order); `queue_lock` guards them
  // for the timer.
  struct Held {
    GstBuffer* buffer;
    Clock::time_point arrival;
  };
  std::mutex queue_lock;
  std::condition_variable queue_changed;
  std::deque<Held> held;
  // The arrival of the oldest frame of the batch in flight, if any.
  std::optional<Clock::time_point> in_flight_since;
  bool stopping = false;
  std::thread timeout_thread;

  // face-mode=aligned, pipeline depth 2: the batch launched on the device
  // and not finished, its frames mapped for the results (stream lock).
  struct InFlight {
    OutgoingFrames frames;
    gpen::AlignedBatch batch;
  };
  std::optional<InFlight> in_flight;

  // Enhanced frames waiting for generate_output (streaming thread only).
  std::deque<GstBuffer*> ready;

  // Latency bookkeeping: the inference time we last reported, in ns.
  std::mutex latency_lock;
  GstClockTime inference_latency = 0;
  GstClockTime reported_inference_latency = 0;
};

struct _GstGpenEnhance {
  GstBaseTransform parent;
  GpenEnhancePrivate* priv;
};

G_DEFINE_TYPE(GstGpenEnhance, gst_gpen_enhance, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(gpenenhance, "gpenenhance", GST_RANK_NONE, GST_TYPE_GPEN_ENHANCE);

GType gst_gpen_face_mode_get_type(void) {
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_GPEN_FACE_MODE_ALIGNED, "Every frame is one aligned face (FFHQ layout)", "aligned"},
      {GST_GPEN_FACE_MODE_FULL,
       "Find the faces (upstream face metas or the detector), restore them and paste them back",
       "full"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstGpenFaceMode", values));
  return type;
}

GType gst_gpen_messages_get_type(void) {
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_GPEN_MESSAGES_NONE, "Post no face messages", "none"},
      {GST_GPEN_MESSAGES_FRAME, "A gpen-faces element message per frame", "frame"},
      {GST_GPEN_MESSAGES_BATCH, "A gpen-batch element message per group of frames pushed together",
       "batch"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstGpenMessages", values));
  return type;
}

GType gst_gpen_precision_get_type(void) {
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_GPEN_PRECISION_AUTO, "fp16 on CUDA, fp32 on the CPU", "auto"},
      {GST_GPEN_PRECISION_FP32, "32-bit float", "fp32"},
      {GST_GPEN_PRECISION_FP16, "16-bit float (CUDA only; the CPU uses fp32)", "fp16"},
      {GST_GPEN_PRECISION_BF16, "bfloat16 (CUDA only; the CPU uses fp32)", "bf16"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstGpenPrecision", values));
  return type;
}

static gpen::Precision to_core_precision(GstGpenPrecision precision) {
  switch (precision) {
    case GST_GPEN_PRECISION_FP32: return gpen::Precision::Fp32;
    case GST_GPEN_PRECISION_FP16: return gpen::Precision::Fp16;
    case GST_GPEN_PRECISION_BF16: return gpen::Precision::Bf16;
    default: return gpen::Precision::Auto;
  }
}

/* ---------------------------------------------------------------------- */
/* Batches                                                                 */

static void post_latency_if_changed(GstGpenEnhance* self, double batch_seconds) {
  GpenEnhancePrivate* priv = self->priv;
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(priv->latency_lock);
    const auto measured = static_cast<GstClockTime>(batch_seconds * GST_SECOND);
    priv->inference_latency = std::max(priv->inference_latency, measured);
    // Only a real change is worth a pipeline-wide latency recalculation.
    if (priv->inference_latency > priv->reported_inference_latency +
                                      priv->reported_inference_latency / 5 + GST_MSECOND) {
      priv->reported_inference_latency = priv->inference_latency;
      changed = true;
    }
  }
  if (changed) {
    GST_DEBUG_OBJECT(self, "inference latency now %" GST_TIME_FORMAT,
                     GST_TIME_ARGS(priv->reported_inference_latency));
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  }
}

using InFlight = GpenEnhancePrivate::InFlight;

/* Drops frames on their way out (an error, a flush, a stop). */
static void release_frames(OutgoingFrames& frames) {
  for (auto& frame : frames) {
    if (frame.is_mapped) gst_video_frame_unmap(&frame.mapped);
    gst_buffer_unref(frame.buffer);
  }
  frames.clear();
}

/* Makes the frame writable and maps it for its results; posts the error. */
static bool map_for_writing(GstGpenEnhance* self, Outgoing& frame) {
  frame.buffer = gst_buffer_make_writable(frame.buffer);
  if (!gst_video_frame_map(&frame.mapped, &self->priv->info, frame.buffer, GST_MAP_READWRITE)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map a video frame for writing"),
                      ("buffer %" GST_PTR_FORMAT, frame.buffer));
    return false;
  }
  frame.is_mapped = true;
  return true;
}

/* Takes up to `count` held frames, oldest first; `arrival` (if given) is
 * set to the first one's arrival. */
static std::vector<GstBuffer*> take_held(GpenEnhancePrivate* priv, std::size_t count,
                                         Clock::time_point* arrival = nullptr) {
  std::lock_guard<std::mutex> lock(priv->queue_lock);
  count = std::min(count, priv->held.size());
  if (arrival && count > 0) *arrival = priv->held.front().arrival;
  std::vector<GstBuffer*> frames;
  frames.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    frames.push_back(priv->held.front().buffer);
    priv->held.pop_front();
  }
  return frames;
}

static std::size_t held_count(GpenEnhancePrivate* priv) {
  std::lock_guard<std::mutex> lock(priv->queue_lock);
  return priv->held.size();
}

/* The batch in flight, taken out of the element (stream lock held). */
static std::optional<InFlight> take_in_flight(GpenEnhancePrivate* priv) {
  std::optional<InFlight> flight = std::move(priv->in_flight);
  priv->in_flight.reset();
  std::lock_guard<std::mutex> lock(priv->queue_lock);
  priv->in_flight_since.reset();
  return flight;
}

/* ---- bus messages ---- */

static GstStructure* frame_structure(GstGpenEnhance* self, const char* name, GstBuffer* buffer,
                                     const std::vector<gpen::FaceDetection>& faces) {
  GstSegment* segment = &GST_BASE_TRANSFORM(self)->segment;
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

/* Frames that leave together, with the faces restored in each. */
using FacesOfFrames = std::vector<std::pair<GstBuffer*, std::vector<gpen::FaceDetection>>>;

static void post_faces(GstGpenEnhance* self, const FacesOfFrames& frames) {
  GST_OBJECT_LOCK(self);
  const GstGpenMessages mode = self->priv->settings.messages;
  GST_OBJECT_UNLOCK(self);
  if (frames.empty() || mode == GST_GPEN_MESSAGES_NONE) return;
  if (mode == GST_GPEN_MESSAGES_FRAME) {
    for (const auto& [buffer, faces] : frames)
      gst_element_post_message(
          GST_ELEMENT(self),
          gst_message_new_element(GST_OBJECT(self), frame_structure(self, "gpen-faces", buffer, faces)));
    return;
  }
  GValue list = G_VALUE_INIT;
  gst_value_array_init(&list, static_cast<guint>(frames.size()));
  guint total = 0;
  for (const auto& [buffer, faces] : frames) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed(&v, frame_structure(self, "frame", buffer, faces));
    gst_value_array_append_and_take_value(&list, &v);
    total += static_cast<guint>(faces.size());
  }
  GstStructure* s = gst_structure_new("gpen-batch", "frames", G_TYPE_UINT,
                                      static_cast<guint>(frames.size()), "faces", G_TYPE_UINT,
                                      total, nullptr);
  gst_structure_take_value(s, "frame-list", &list);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

/* ---- full frames ---- */

static gpen::RestoreOptions restore_options(GstGpenEnhance* self) {
  gpen::RestoreOptions o;
  GST_OBJECT_LOCK(self);
  const Settings& s = self->priv->settings;
  o.strength = static_cast<float>(s.strength);
  o.denoise = static_cast<float>(s.denoise);
  o.sharpen = static_cast<float>(s.sharpen);
  o.max_faces = static_cast<int>(s.detection.max_faces);
  GST_OBJECT_UNLOCK(self);
  return o;
}

/* The frame's pixels as [3, H, W] uint8 RGB on the network's device (a
 * copy: on CUDA the frame's bytes cross once and are unpacked there). */
static bool read_frame(GstGpenEnhance* self, GstBuffer* buffer, torch::Tensor& rgb) {
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &self->priv->info, buffer, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map a video frame"),
                      ("buffer %" GST_PTR_FORMAT, buffer));
    return false;
  }
  bool ok = true;
  try {
    rgb = gpen::upload_rgb(gpen_image_view(&frame), self->priv->enhancer->device());
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("GPEN face restoration failed"), ("%s", e.what()));
    ok = false;
  }
  gst_video_frame_unmap(&frame);
  return ok;
}

/* Unmaps frames whose results are written and moves them, in order, to
 * `ready`, with their face messages. */
static void send_frames(GstGpenEnhance* self, OutgoingFrames& frames) {
  FacesOfFrames released;
  for (auto& frame : frames) {
    if (frame.is_mapped) gst_video_frame_unmap(&frame.mapped);
    released.emplace_back(frame.buffer, std::move(frame.faces));
    self->priv->ready.push_back(frame.buffer);
  }
  frames.clear();
  post_faces(self, released);
}

/* Runs the restorer and moves the frames it finished to `ready`, their
 * pixels written back together (on CUDA one wait for all their downloads). */
static GstFlowReturn advance_full(GstGpenEnhance* self, bool drain) {
  GpenEnhancePrivate* priv = self->priv;
  const gpen::RestoreOptions options = restore_options(self);
  try {
    const auto start = Clock::now();
    const std::size_t faces = priv->restorer->run(options, drain);
    if (faces > 0) {
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      GST_LOG_OBJECT(self, "restored %zu face(s) in %.1f ms", faces, seconds * 1000.0);
      post_latency_if_changed(self, seconds);
    }
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("GPEN face restoration failed"), ("%s", e.what()));
    return GST_FLOW_ERROR;
  }
  // Each frame is in `out` (and so released on failure) before anything
  // else can fail.
  OutgoingFrames out;
  gpen::PixelDownloads downloads;
  try {
    while (auto done = priv->restorer->pop()) {
      std::vector<GstBuffer*> front = take_held(priv, 1);
      g_assert(front.size() == 1);
      out.push_back({front[0], {}, false, std::move(done->faces)});
      if (!done->rgb.defined()) continue;
      if (!map_for_writing(self, out.back())) {
        release_frames(out);
        return GST_FLOW_ERROR;
      }
      downloads.add(done->rgb, gpen_image_view(&out.back().mapped));
    }
    downloads.finish();
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("GPEN face restoration failed"), ("%s", e.what()));
    release_frames(out);
    return GST_FLOW_ERROR;
  }
  send_frames(self, out);
  return GST_FLOW_OK;
}

/* ---- aligned faces ---- */

/* Maps `frames` (made writable) and launches the network over them: the
 * frames are read now and written when the batch is finished. Strength 0
 * launches nothing: they leave as they came. Called with the sink pad's
 * stream lock held. On failure posts an element error, drops nothing
 * silently (the frames are released with the error) and returns
 * GST_FLOW_ERROR. */
static GstFlowReturn launch_frames(GstGpenEnhance* self, std::vector<GstBuffer*> frames,
                                   InFlight& flight) {
  GpenEnhancePrivate* priv = self->priv;
  gpen::FaceDetection whole;  // the frame is the face
  whole.x2 = static_cast<float>(GST_VIDEO_INFO_WIDTH(&priv->info));
  whole.y2 = static_cast<float>(GST_VIDEO_INFO_HEIGHT(&priv->info));
  whole.score = 1.f;
  for (auto* buffer : frames) flight.frames.push_back({buffer, {}, false, {whole}});
  GST_OBJECT_LOCK(self);
  const float strength = static_cast<float>(priv->settings.strength);
  GST_OBJECT_UNLOCK(self);
  // Strength 0 means the original frame: no need to run the network.
  if (strength <= 0.0f || flight.frames.empty()) return GST_FLOW_OK;

  std::vector<gpen::ImageView> views;
  views.reserve(flight.frames.size());
  for (auto& frame : flight.frames) {
    if (!map_for_writing(self, frame)) {
      release_frames(flight.frames);
      return GST_FLOW_ERROR;
    }
    views.push_back(gpen_image_view(&frame.mapped));
  }
  try {
    flight.batch = priv->enhancer->launch_aligned(views, strength);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("GPEN inference failed"), ("%s", e.what()));
    release_frames(flight.frames);
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

/* Writes a launched batch's results into its frames and moves them, in
 * order, to `ready`. Called with the stream lock held; on failure as
 * launch_frames. */
static GstFlowReturn finish_frames(GstGpenEnhance* self, InFlight& flight) {
  try {
    flight.batch.finish();
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("GPEN inference failed"), ("%s", e.what()));
    release_frames(flight.frames);
    return GST_FLOW_ERROR;
  }
  if (flight.batch.size() > 0) {
    GST_LOG_OBJECT(self, "enhanced %zu frame(s) in %.1f ms of host time", flight.batch.size(),
                   flight.batch.seconds() * 1000.0);
    post_latency_if_changed(self, flight.batch.seconds());
  }
  send_frames(self, flight.frames);
  return GST_FLOW_OK;
}

/* A full batch (with `drain`, whatever is held) is launched; the batch in
 * flight before it, older, is finished first. The new one is finished at
 * once unless the pipeline depth is 2, this is no drain and the network
 * runs on it: then it stays in flight, and the device works on it while the
 * next batch gathers. */
static GstFlowReturn advance_aligned(GstGpenEnhance* self, bool drain) {
  GpenEnhancePrivate* priv = self->priv;
  const std::size_t count = held_count(priv);
  std::optional<InFlight> launched;
  Clock::time_point arrival{};
  if (count > 0 && (drain || count >= static_cast<std::size_t>(priv->batch_size))) {
    InFlight flight;
    const GstFlowReturn ret = launch_frames(self, take_held(priv, count, &arrival), flight);
    if (ret != GST_FLOW_OK) return ret;
    launched = std::move(flight);
  }
  if (!launched && !drain) return GST_FLOW_OK;
  if (auto older = take_in_flight(priv)) {
    const GstFlowReturn ret = finish_frames(self, *older);
    if (ret != GST_FLOW_OK) {
      if (launched) release_frames(launched->frames);
      return ret;
    }
  }
  if (!launched) return GST_FLOW_OK;
  // Frames that nothing runs on (strength 0) have nothing to wait for.
  if (drain || priv->pipeline_depth < 2 || launched->batch.size() == 0)
    return finish_frames(self, *launched);
  priv->in_flight = std::move(launched);
  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    priv->in_flight_since = arrival;
  }
  priv->queue_changed.notify_all();
  return GST_FLOW_OK;
}

/* Processes what is due (with `drain`, everything held) into `ready`.
 * Called with the stream lock held. */
static GstFlowReturn advance(GstGpenEnhance* self, bool drain) {
  if (!self->priv->enhancer || !self->priv->have_info) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Received frames before the element was ready"),
                      ("model loaded: %d, caps set: %d", self->priv->enhancer != nullptr,
                       self->priv->have_info));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  return self->priv->face_mode == GST_GPEN_FACE_MODE_FULL ? advance_full(self, drain)
                                                          : advance_aligned(self, drain);
}

/* Processes whatever is held and pushes it downstream, before an event that
 * must not overtake it. Called with the stream lock held. */
static GstFlowReturn drain(GstGpenEnhance* self) {
  GpenEnhancePrivate* priv = self->priv;
  GstFlowReturn ret = GST_FLOW_OK;
  const std::size_t held = held_count(priv);
  const std::size_t in_flight = priv->in_flight ? priv->in_flight->frames.size() : 0;
  if (held > 0 || in_flight > 0) {
    GST_DEBUG_OBJECT(self, "draining %zu held frame(s), %zu in flight", held, in_flight);
    ret = advance(self, true);
  }
  std::vector<GstBuffer*> frames(priv->ready.begin(), priv->ready.end());
  priv->ready.clear();
  GstBaseTransform* trans = GST_BASE_TRANSFORM(self);
  for (auto* buffer : frames) {
    if (ret == GST_FLOW_OK || ret == GST_FLOW_NOT_LINKED)
      ret = gst_pad_push(trans->srcpad, buffer);
    else
      gst_buffer_unref(buffer);
  }
  return ret;
}

static void discard_frames(GpenEnhancePrivate* priv) {
  if (auto flight = take_in_flight(priv)) release_frames(flight->frames);
  for (auto* buffer : take_held(priv, G_MAXSIZE)) gst_buffer_unref(buffer);
  if (priv->restorer) priv->restorer->clear();
  for (auto* buffer : priv->ready) gst_buffer_unref(buffer);
  priv->ready.clear();
}

/* When the oldest frame not yet pushed arrived: the batch in flight's, or
 * the first held. Called with queue_lock held. */
static std::optional<Clock::time_point> oldest_waiting(const GpenEnhancePrivate* priv) {
  if (priv->in_flight_since) return priv->in_flight_since;
  if (!priv->held.empty()) return priv->held.front().arrival;
  return std::nullopt;
}

/* Pushes a partial batch (and the batch in flight) once its oldest frame has
 * waited batch-timeout, so a live stream never waits on frames that are slow
 * to come. */
static void timeout_loop(GstGpenEnhance* self) {
  GpenEnhancePrivate* priv = self->priv;
  GstBaseTransform* trans = GST_BASE_TRANSFORM(self);
  std::unique_lock<std::mutex> lock(priv->queue_lock);
  while (!priv->stopping) {
    GST_OBJECT_LOCK(self);
    const guint64 timeout = priv->settings.batch_timeout;
    GST_OBJECT_UNLOCK(self);
    const auto oldest = oldest_waiting(priv);
    if (!oldest || timeout == 0) {
      // Wake up now and then: batch-timeout may be changed while playing.
      priv->queue_changed.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    const auto deadline = *oldest + std::chrono::nanoseconds(timeout);
    if (Clock::now() < deadline) {
      priv->queue_changed.wait_until(lock, deadline);
      continue;
    }
    lock.unlock();
    GST_PAD_STREAM_LOCK(trans->sinkpad);
    bool expired = false;
    {
      std::lock_guard<std::mutex> relock(priv->queue_lock);
      const auto waiting = oldest_waiting(priv);
      expired = !priv->stopping && waiting &&
                Clock::now() >= *waiting + std::chrono::nanoseconds(timeout);
    }
    if (expired) {
      GST_DEBUG_OBJECT(self, "batch timeout: pushing a partial batch");
      drain(self);
    }
    GST_PAD_STREAM_UNLOCK(trans->sinkpad);
    lock.lock();
  }
}

/* ---------------------------------------------------------------------- */
/* GstBaseTransform                                                        */

static gboolean gst_gpen_enhance_start(GstBaseTransform* trans) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(trans);
  GpenEnhancePrivate* priv = self->priv;

  GST_OBJECT_LOCK(self);
  const Settings settings = priv->settings;
  GST_OBJECT_UNLOCK(self);

  if (settings.model.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No GPEN model given"),
                      ("set the 'model' property to a GPEN-BFR-*.pth file"));
    return FALSE;
  }
  const auto device = gpen_resolve_device(GST_ELEMENT(self), settings.device);
  if (!device) return FALSE;
  if (!g_file_test(settings.model.c_str(), G_FILE_TEST_EXISTS)) {
    gpen_post_load_error(GST_ELEMENT(self), "GPEN model", settings.model, "file not found");
    return FALSE;
  }
  try {
    auto enhancer = std::make_unique<gpen::FaceEnhancer>(
        settings.model, gpen::DeviceRequest::parse(settings.device),
        to_core_precision(settings.precision));
    priv->batch_size = settings.batch_size > 0 ? static_cast<int>(settings.batch_size)
                                               : enhancer->automatic_batch_size();
    const std::string device_name = enhancer->device().str();
    GST_OBJECT_LOCK(self);
    priv->active_device = device_name;
    priv->current_batch_size = static_cast<guint>(priv->batch_size);
    GST_OBJECT_UNLOCK(self);
    GST_INFO_OBJECT(self, "loaded %s (%s) on %s, batch size %d%s", settings.model.c_str(),
                    enhancer->generator().config().describe().c_str(), device_name.c_str(),
                    priv->batch_size, settings.batch_size == 0 ? " (automatic)" : "");
    priv->enhancer = std::move(enhancer);
  } catch (const std::exception& e) {
    gpen_post_load_error(GST_ELEMENT(self), "GPEN model", settings.model, e.what());
    return FALSE;
  }
  priv->face_mode = settings.face_mode;
  if (priv->face_mode == GST_GPEN_FACE_MODE_FULL) {
    priv->detector = gpen_create_detector(GST_ELEMENT(self), settings.detection,
                                          priv->enhancer->device());
    if (!priv->detector) {
      priv->enhancer.reset();
      return FALSE;
    }
    GST_INFO_OBJECT(self, "faces of frames without face metas: %s",
                    priv->detector->describe().c_str());
    priv->restorer = std::make_unique<gpen::FrameRestorer>(*priv->enhancer, priv->detector.get(),
                                                           priv->batch_size);
  }
  // A batch in flight pays where the device works apart from the host (CUDA)
  // and costs a batch of latency anywhere. Full mode waits for the device in
  // detection anyway: one batch at a time there.
  const bool aligned = priv->face_mode == GST_GPEN_FACE_MODE_ALIGNED;
  priv->pipeline_depth = !aligned                        ? 1
                         : settings.pipeline_depth > 0 ? static_cast<int>(settings.pipeline_depth)
                         : priv->enhancer->device().is_cuda() ? 2
                                                              : 1;
  if (!aligned && settings.pipeline_depth > 1)
    GST_INFO_OBJECT(self, "pipeline-depth %u applies to face-mode=aligned: one batch at a time",
                    settings.pipeline_depth);
  GST_INFO_OBJECT(self, "pipeline depth %d%s", priv->pipeline_depth,
                  settings.pipeline_depth == 0 ? " (automatic)" : "");
  GST_OBJECT_LOCK(self);
  priv->current_pipeline_depth = static_cast<guint>(priv->pipeline_depth);
  GST_OBJECT_UNLOCK(self);
  {
    std::lock_guard<std::mutex> lock(priv->latency_lock);
    priv->inference_latency = priv->reported_inference_latency = 0;
  }
  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    priv->stopping = false;
  }
  priv->timeout_thread = std::thread(timeout_loop, self);
  return TRUE;
}

static gboolean gst_gpen_enhance_stop(GstBaseTransform* trans) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(trans);
  GpenEnhancePrivate* priv = self->priv;
  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    priv->stopping = true;
  }
  priv->queue_changed.notify_all();
  if (priv->timeout_thread.joinable()) priv->timeout_thread.join();
  discard_frames(priv);
  priv->restorer.reset();
  priv->detector.reset();
  priv->enhancer.reset();
  priv->have_info = false;
  GST_OBJECT_LOCK(self);
  priv->active_device.clear();
  priv->current_batch_size = 0;
  priv->current_pipeline_depth = 1;
  priv->fps_n = 0, priv->fps_d = 1;
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static gboolean gst_gpen_enhance_set_caps(GstBaseTransform* trans, GstCaps* incaps,
                                          GstCaps* /*outcaps*/) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(trans);
  GpenEnhancePrivate* priv = self->priv;
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, incaps)) {
    GST_ERROR_OBJECT(self, "invalid caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  const bool rate_changed = !priv->have_info || info.fps_n != priv->info.fps_n ||
                            info.fps_d != priv->info.fps_d;
  priv->info = info;
  priv->have_info = true;
  GST_OBJECT_LOCK(self);
  priv->fps_n = info.fps_n, priv->fps_d = info.fps_d;
  GST_OBJECT_UNLOCK(self);
  // The batch fill time depends on the frame rate.
  if (rate_changed)
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  return TRUE;
}

static GstFlowReturn gst_gpen_enhance_submit_input_buffer(GstBaseTransform* trans,
                                                          gboolean /*is_discont*/,
                                                          GstBuffer* input) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(trans);
  GpenEnhancePrivate* priv = self->priv;
  if (!priv->enhancer || !priv->have_info) {
    gst_buffer_unref(input);
    return advance(self, false);  // posts the error
  }
  if (priv->face_mode == GST_GPEN_FACE_MODE_FULL) {
    GST_OBJECT_LOCK(self);
    const bool keep_original = priv->settings.strength <= 0.0;
    GST_OBJECT_UNLOCK(self);
    // Strength 0 is the original frame: with nothing held before it, it
    // leaves at once and nothing runs.
    if (keep_original && held_count(priv) == 0) {
      priv->ready.push_back(input);
      return GST_FLOW_OK;
    }
    torch::Tensor rgb;
    if (!read_frame(self, input, rgb)) {
      gst_buffer_unref(input);
      return GST_FLOW_ERROR;
    }
    try {
      priv->restorer->push(priv->next_frame_id++, rgb, gpen_faces_from_buffer(input));
    } catch (const std::exception& e) {
      GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("GPEN face restoration failed"), ("%s", e.what()));
      gst_buffer_unref(input);
      return GST_FLOW_ERROR;
    }
  }
  {
    std::lock_guard<std::mutex> lock(priv->queue_lock);
    priv->held.push_back({input, Clock::now()});
  }
  priv->queue_changed.notify_all();
  return advance(self, false);
}

static GstFlowReturn gst_gpen_enhance_generate_output(GstBaseTransform* trans, GstBuffer** output) {
  GpenEnhancePrivate* priv = GST_GPEN_ENHANCE(trans)->priv;
  *output = nullptr;
  if (!priv->ready.empty()) {
    *output = priv->ready.front();
    priv->ready.pop_front();
  }
  return GST_FLOW_OK;
}

static gboolean gst_gpen_enhance_sink_event(GstBaseTransform* trans, GstEvent* event) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(trans);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_EOS:
    case GST_EVENT_CAPS:
    case GST_EVENT_SEGMENT:
    case GST_EVENT_STREAM_START:
    case GST_EVENT_GAP: {
      const GstFlowReturn ret = drain(self);
      if (ret != GST_FLOW_OK)
        GST_DEBUG_OBJECT(self, "drain before %s: %s", GST_EVENT_TYPE_NAME(event),
                         gst_flow_get_name(ret));
      break;
    }
    case GST_EVENT_FLUSH_STOP:
      discard_frames(self->priv);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_gpen_enhance_parent_class)->sink_event(trans, event);
}

static GstClockTime added_latency(GstGpenEnhance* self, gboolean live) {
  GpenEnhancePrivate* priv = self->priv;
  GST_OBJECT_LOCK(self);
  const guint64 timeout = priv->settings.batch_timeout;
  const guint batch = priv->current_batch_size;
  const guint depth = priv->current_pipeline_depth;
  const gint fps_n = priv->fps_n, fps_d = priv->fps_d;
  GST_OBJECT_UNLOCK(self);
  // A frame waits for the rest of its batch and, with a batch in flight,
  // for the whole next one too.
  const guint waited = batch * depth > 0 ? batch * depth - 1 : 0;
  GstClockTime fill = 0;
  if (fps_n > 0 && waited > 0)
    fill = gst_util_uint64_scale_int(GST_SECOND * waited, fps_d, fps_n);
  if (live && timeout > 0 && (fill == 0 || timeout < fill)) fill = timeout;
  std::lock_guard<std::mutex> lock(priv->latency_lock);
  return fill + priv->reported_inference_latency;
}

static gboolean gst_gpen_enhance_query(GstBaseTransform* trans, GstPadDirection direction,
                                       GstQuery* query) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(trans);
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    if (!gst_pad_peer_query(trans->sinkpad, query)) return FALSE;
    gboolean live = FALSE;
    GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
    gst_query_parse_latency(query, &live, &min, &max);
    const GstClockTime ours = added_latency(self, live);
    GST_DEBUG_OBJECT(self, "adding %" GST_TIME_FORMAT " latency (live: %d)", GST_TIME_ARGS(ours),
                     live);
    min += ours;
    if (GST_CLOCK_TIME_IS_VALID(max)) max += ours;
    gst_query_set_latency(query, live, min, max);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_gpen_enhance_parent_class)->query(trans, direction, query);
}

/* Upstream must be able to allocate a whole batch while we hold what we may
 * hold: a batch, and one more in flight. */
static gboolean gst_gpen_enhance_propose_allocation(GstBaseTransform* trans, GstQuery* decide_query,
                                                    GstQuery* query) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(trans);
  GST_BASE_TRANSFORM_CLASS(gst_gpen_enhance_parent_class)
      ->propose_allocation(trans, decide_query, query);
  GST_OBJECT_LOCK(self);
  const guint depth = self->priv->current_pipeline_depth;
  GST_OBJECT_UNLOCK(self);
  const guint extra = static_cast<guint>(std::max(self->priv->batch_size, 1)) * std::max(depth, 1u);

  const guint n_pools = gst_query_get_n_allocation_pools(query);
  for (guint i = 0; i < n_pools; ++i) {
    GstBufferPool* pool = nullptr;
    guint size = 0, min = 0, max = 0;
    gst_query_parse_nth_allocation_pool(query, i, &pool, &size, &min, &max);
    min += extra;
    if (max != 0 && max < min) max = min;
    gst_query_set_nth_allocation_pool(query, i, pool, size, min, max);
    if (pool) gst_object_unref(pool);
  }
  if (n_pools == 0) {
    GstCaps* caps = nullptr;
    gboolean need_pool = FALSE;
    gst_query_parse_allocation(query, &caps, &need_pool);
    GstVideoInfo info;
    if (caps && gst_video_info_from_caps(&info, caps)) {
      GstBufferPool* pool = nullptr;
      if (need_pool) {
        pool = gst_video_buffer_pool_new();
        GstStructure* config = gst_buffer_pool_get_config(pool);
        gst_buffer_pool_config_set_params(config, caps, static_cast<guint>(info.size), extra + 1, 0);
        gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
        if (!gst_buffer_pool_set_config(pool, config)) {
          gst_object_unref(pool);
          pool = nullptr;
        }
      }
      gst_query_add_allocation_pool(query, pool, static_cast<guint>(info.size), extra + 1, 0);
      if (pool) gst_object_unref(pool);
    }
  }
  if (!gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr))
    gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* GObject                                                                 */

static void gst_gpen_enhance_set_property(GObject* object, guint prop_id, const GValue* value,
                                          GParamSpec* pspec) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(object);
  Settings& s = self->priv->settings;
  if (gpen_property_change_refused(GST_ELEMENT(self), pspec)) return;
  GST_OBJECT_LOCK(self);
  if (gpen_detector_set_property(s.detection, PROP_DETECTOR_FIRST, prop_id, value)) {
    GST_OBJECT_UNLOCK(self);
    return;
  }
  switch (prop_id) {
    case PROP_MODEL: {
      const gchar* path = g_value_get_string(value);
      s.model = path ? path : "";
      break;
    }
    case PROP_DENOISE: s.denoise = g_value_get_double(value); break;
    case PROP_SHARPEN: s.sharpen = g_value_get_double(value); break;
    case PROP_MESSAGES: s.messages = static_cast<GstGpenMessages>(g_value_get_enum(value)); break;
    case PROP_FACE_MODE: s.face_mode = static_cast<GstGpenFaceMode>(g_value_get_enum(value)); break;
    case PROP_BATCH_SIZE: s.batch_size = g_value_get_uint(value); break;
    case PROP_PIPELINE_DEPTH: s.pipeline_depth = g_value_get_uint(value); break;
    case PROP_BATCH_TIMEOUT: s.batch_timeout = g_value_get_uint64(value); break;
    case PROP_DEVICE: {
      const gchar* device = g_value_get_string(value);
      s.device = device ? device : kDefaultDevice;
      break;
    }
    case PROP_PRECISION: s.precision = static_cast<GstGpenPrecision>(g_value_get_enum(value)); break;
    case PROP_STRENGTH: s.strength = g_value_get_double(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
  if (prop_id == PROP_BATCH_TIMEOUT) {
    self->priv->queue_changed.notify_all();
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  }
}

static void gst_gpen_enhance_get_property(GObject* object, guint prop_id, GValue* value,
                                          GParamSpec* pspec) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(object);
  const Settings& s = self->priv->settings;
  GST_OBJECT_LOCK(self);
  if (gpen_detector_get_property(s.detection, PROP_DETECTOR_FIRST, prop_id, value)) {
    GST_OBJECT_UNLOCK(self);
    return;
  }
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string(value, s.model.c_str()); break;
    case PROP_DENOISE: g_value_set_double(value, s.denoise); break;
    case PROP_SHARPEN: g_value_set_double(value, s.sharpen); break;
    case PROP_MESSAGES: g_value_set_enum(value, s.messages); break;
    case PROP_FACE_MODE: g_value_set_enum(value, s.face_mode); break;
    case PROP_BATCH_SIZE: g_value_set_uint(value, s.batch_size); break;
    case PROP_PIPELINE_DEPTH: g_value_set_uint(value, s.pipeline_depth); break;
    case PROP_BATCH_TIMEOUT: g_value_set_uint64(value, s.batch_timeout); break;
    case PROP_DEVICE: g_value_set_string(value, s.device.c_str()); break;
    case PROP_PRECISION: g_value_set_enum(value, s.precision); break;
    case PROP_STRENGTH: g_value_set_double(value, s.strength); break;
    case PROP_CURRENT_BATCH_SIZE:
      g_value_set_uint(value, self->priv->current_batch_size);
      break;
    case PROP_CURRENT_DEVICE: g_value_set_string(value, self->priv->active_device.c_str()); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_gpen_enhance_finalize(GObject* object) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(object);
  discard_frames(self->priv);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(gst_gpen_enhance_parent_class)->finalize(object);
}

static void gst_gpen_enhance_class_init(GstGpenEnhanceClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_gpen_enhance_debug, "gpenenhance", 0, "GPEN face enhancement");

  gobject_class->set_property = gst_gpen_enhance_set_property;
  gobject_class->get_property = gst_gpen_enhance_get_property;
  gobject_class->finalize = gst_gpen_enhance_finalize;

  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto ready = static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_READY);
  const auto playing = static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE);
  const auto ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_property(gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model", "Path of a GPEN checkpoint (GPEN-BFR-*.pth)", nullptr, ready));
  g_object_class_install_property(gobject_class, PROP_FACE_MODE,
      g_param_spec_enum("face-mode", "Face mode", "How faces are found in the frames",
                        GST_TYPE_GPEN_FACE_MODE, kDefaultFaceMode, ready));
  g_object_class_install_property(gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint("batch-size", "Batch size",
                        "Faces per network run (0 = automatic: 1 on the CPU, from free memory on CUDA)",
                        0, gpen::kMaxBatchSize, kDefaultBatchSize, ready));
  g_object_class_install_property(gobject_class, PROP_PIPELINE_DEPTH,
      g_param_spec_uint("pipeline-depth", "Pipeline depth",
                        "face-mode=aligned: batches under way at once. 1: a batch is finished before "
                        "the next gathers; 2: the device runs one while the next gathers, so copies "
                        "in and out overlap the network, for a batch more latency (0 = automatic: "
                        "2 on CUDA, 1 on the CPU)",
                        0, kMaxPipelineDepth, kDefaultPipelineDepth, ready));
  g_object_class_install_property(gobject_class, PROP_BATCH_TIMEOUT,
      g_param_spec_uint64("batch-timeout", "Batch timeout",
                          "Longest time in ns a partial batch waits for more frames (0 = wait for a full batch or a drain)",
                          0, G_MAXUINT64, kDefaultBatchTimeout, playing));
  g_object_class_install_property(gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device", "auto, cpu, cuda or cuda:N", kDefaultDevice, ready));
  g_object_class_install_property(gobject_class, PROP_PRECISION,
      g_param_spec_enum("precision", "Precision", "Numeric precision of the network",
                        GST_TYPE_GPEN_PRECISION, GST_GPEN_PRECISION_AUTO, ready));
  g_object_class_install_property(gobject_class, PROP_STRENGTH,
      g_param_spec_double("strength", "Strength",
                          "Blend of the enhanced face with the original (0 = original, 1 = enhanced)",
                          0.0, 1.0, kDefaultStrength, playing));
  g_object_class_install_property(gobject_class, PROP_DENOISE,
      g_param_spec_double("denoise", "Denoise",
                          "face-mode=full: denoise each face crop before the network (0 = off)",
                          0.0, 1.0, 0.0, playing));
  g_object_class_install_property(gobject_class, PROP_SHARPEN,
      g_param_spec_double("sharpen", "Sharpen",
                          "face-mode=full: unsharp-mask each restored face (0 = off)", 0.0, 1.0,
                          0.0, playing));
  g_object_class_install_property(gobject_class, PROP_MESSAGES,
      g_param_spec_enum("messages", "Messages",
                        "Element messages with the faces restored: per frame, per group of "
                        "frames pushed together, or none",
                        GST_TYPE_GPEN_MESSAGES, kDefaultMessages, playing));
  gpen_detector_install_properties(gobject_class, PROP_DETECTOR_FIRST);
  g_object_class_install_property(gobject_class, PROP_CURRENT_BATCH_SIZE,
      g_param_spec_uint("current-batch-size", "Current batch size",
                        "The batch size in use (0 until the model is loaded)", 0, gpen::kMaxBatchSize, 0, ro));
  g_object_class_install_property(gobject_class, PROP_CURRENT_DEVICE,
      g_param_spec_string("current-device", "Current device",
                          "The device the network runs on (empty until the model is loaded)", "", ro));

  gst_element_class_set_static_metadata(element_class, "GPEN face enhancement", "Filter/Effect/Video",
      "Restores faces with GPEN (GAN Prior Embedded Network): finds, aligns and batches faces "
      "across frames for the network, and pastes them back",
      "gst-gpen developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->start = GST_DEBUG_FUNCPTR(gst_gpen_enhance_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_gpen_enhance_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_gpen_enhance_set_caps);
  trans_class->submit_input_buffer = GST_DEBUG_FUNCPTR(gst_gpen_enhance_submit_input_buffer);
  trans_class->generate_output = GST_DEBUG_FUNCPTR(gst_gpen_enhance_generate_output);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_gpen_enhance_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_gpen_enhance_query);
  trans_class->propose_allocation = GST_DEBUG_FUNCPTR(gst_gpen_enhance_propose_allocation);

  gst_type_mark_as_plugin_api(GST_TYPE_GPEN_FACE_MODE, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_GPEN_PRECISION, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_GPEN_MESSAGES, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_GPEN_DETECTOR, static_cast<GstPluginAPIFlags>(0));
}

static void gst_gpen_enhance_init(GstGpenEnhance* self) {
  self->priv = new GpenEnhancePrivate();
  gst_video_info_init(&self->priv->info);
  // Frames are enhanced in the buffers they arrive in.
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gpen_transform_flush_unforwardable_events(GST_BASE_TRANSFORM(self));
}
