/* gpenenhance: restores faces with GPEN, batching faces for the network.
 *
 * face-mode=aligned: every frame is one aligned face. face-mode=full: faces
 * come from upstream face ROI metas or the built-in detector, are aligned,
 * batched across frames and pasted back. Either way the frames go to
 * gpen::FrameBatcher, mapped for writing and keyed by an id, and wait there
 * until their faces' batch is full, the batch timeout expires, or an event
 * that must not overtake them arrives (EOS, CAPS, SEGMENT, STREAM_START,
 * GAP); they leave in arrival order with their timestamps, flags and metas.
 * The element keeps the GObject glue: properties, caps, events, allocation,
 * latency and the batch-timeout thread.
 *
 * model-instance-id: elements with the same id share one engine (model,
 * device, detection and batcher: gpen::SharedEngine); each is a stream of it
 * (gpen::EngineStream) whose frames leave in its own order. Without an id
 * the element has an engine of its own.
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
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "batch_policy.h"
#include "face_enhancer.h"
#include "faces/detection_pool.h"
#include "faces/face_detector.h"
#include "engine/shared_engine.h"
#include "frame_batcher.h"
#include "gstgpendetectorprops.h"
#include "gstgpenengine.h"
#include "gstgpenenums.h"
#include "gstgpenevents.h"
#include "gstgpenfaces.h"
#include "gstgpenframe.h"
#include "gstgpenload.h"
#include "gstgpenmessages.h"
#include "gstgpenpaste.h"
#include "gstgpentask.h"
#include "gstgpentracking.h"

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
  PROP_DETECTION_THREADS,
  PROP_MODEL_INSTANCE_ID,
  PROP_DETECTOR_FIRST,  // the shared detector properties follow
};
// paste-mask and parse-model (gstgpenpaste) after them, then task, then
// the tracking properties (gstgpentracking).
constexpr guint PROP_PASTE_FIRST = PROP_DETECTOR_FIRST + kGpenDetectorPropertyCount;
constexpr guint PROP_TASK = PROP_PASTE_FIRST + kGpenPastePropertyCount;  // gstgpentask
constexpr guint PROP_TRACKING_FIRST = PROP_TASK + 1;

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
  guint detection_threads = 0;
  GpenDetectorSettings detection;
  GpenPasteSettings paste;
  GstGpenTask task = GST_GPEN_TASK_RESTORE;
  GpenTrackingSettings tracking;
  std::string model_instance_id;  // empty: an engine of its own
};

// What the element runs with, set in start() and stop() (and the frame rate
// in set_caps), for the read-only properties and the LATENCY and ALLOCATION
// queries; guarded by the object lock.
struct InUse {
  std::string device;      // empty when not loaded
  guint batch_size = 0;    // 0 when not loaded
  guint pipeline_depth = 1;
  guint lookahead = 0;     // frames held more while the detection workers look at them
  gint fps_n = 0, fps_d = 1;
};

// A frame held by the batcher, mapped for its results.
struct HeldFrame {
  GstBuffer* buffer = nullptr;
  GstVideoFrame mapped{};
};

}  // namespace

// The element's C++ state, created in _init and deleted in finalize.
struct GpenEnhancePrivate {
  Settings settings;
  InUse in_use;

  // Set in start(), cleared in stop(); used from the streaming thread and the
  // batch-timeout thread, both of which hold the sink pad's stream lock. Our
  // stream of the engine (the model, detection and batcher), ours alone or
  // shared by model-instance-id.
  std::unique_ptr<gpen::EngineStream> batcher;
  GstVideoInfo info;
  bool have_info = false;
  // The frames in `batcher`, by id (stream lock).
  std::map<gpen::FrameId, HeldFrame> held;
  gpen::FrameId next_frame_id = 0;
  // Frames done, waiting for generate_output (stream lock).
  std::deque<GstBuffer*> ready;

  // Wakes the batch-timeout thread; `timer_lock` guards `stopping` and
  // `finished_elsewhere` (a shared engine finished frames of ours in another
  // stream's call: the thread pushes them).
  std::mutex timer_lock;
  std::condition_variable timer_wake;
  bool stopping = false;
  bool finished_elsewhere = false;
  std::thread timeout_thread;

  gpen::InferenceLatency latency;
};

struct _GstGpenEnhance {
  GstBaseTransform parent;
  GpenEnhancePrivate* priv;
};

G_DEFINE_TYPE(GstGpenEnhance, gst_gpen_enhance, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(gpenenhance, "gpenenhance", GST_RANK_NONE, GST_TYPE_GPEN_ENHANCE);

/* ---------------------------------------------------------------------- */
/* Frames through the batcher                                              */

static void record_batch_time(GstGpenEnhance* self, double seconds) {
  if (!self->priv->latency.record(static_cast<std::uint64_t>(seconds * GST_SECOND))) return;
  GST_DEBUG_OBJECT(self, "inference latency now %" GST_TIME_FORMAT,
                   GST_TIME_ARGS(self->priv->latency.reported()));
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

static gpen::RestoreOptions restore_options(GstGpenEnhance* self) {
  gpen::RestoreOptions o;
  GST_OBJECT_LOCK(self);
  const Settings& s = self->priv->settings;
  o.strength = static_cast<float>(s.strength);
  o.denoise = static_cast<float>(s.denoise);
  o.sharpen = static_cast<float>(s.sharpen);
  o.max_faces = static_cast<int>(s.detection.max_faces);
  o.colorize = s.task == GST_GPEN_TASK_COLORIZE;
  GST_OBJECT_UNLOCK(self);
  return o;
}

static void release_held(HeldFrame& frame) {
  gst_video_frame_unmap(&frame.mapped);
  gst_buffer_unref(frame.buffer);
}

/* Moves the frames the batcher has finished, in order, to `ready`, with
 * their face messages. */
static void collect_finished(GstGpenEnhance* self) {
  GpenEnhancePrivate* priv = self->priv;
  GpenFacesOfFrames released;
  while (auto done = priv->batcher->pop()) {
    const auto found = priv->held.find(done->id);
    g_assert(found != priv->held.end());
    gst_video_frame_unmap(&found->second.mapped);
    GstBuffer* buffer = found->second.buffer;
    priv->held.erase(found);
    released.emplace_back(buffer, std::move(done->faces));
    priv->ready.push_back(buffer);
  }
  GST_OBJECT_LOCK(self);
  const GstGpenMessages mode = priv->settings.messages;
  GST_OBJECT_UNLOCK(self);
  gpen_post_faces(GST_ELEMENT(self), &GST_BASE_TRANSFORM(self)->segment, mode, released);
}

/* Runs what is due (with `drain`, everything held) and moves the frames
 * finished to `ready`. Called with the stream lock held. */
static GstFlowReturn advance(GstGpenEnhance* self, bool drain) {
  GpenEnhancePrivate* priv = self->priv;
  try {
    const gpen::BatchProgress progress = priv->batcher->advance(restore_options(self), drain);
    if (progress.finished > 0) {
      GST_LOG_OBJECT(self, "%zu face(s) through the network, %zu batch(es) finished, %.1f ms",
                     progress.faces, progress.finished, progress.batch_seconds * 1000.0);
      record_batch_time(self, progress.batch_seconds);
    }
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("GPEN face restoration failed"), ("%s", e.what()));
    return GST_FLOW_ERROR;
  }
  collect_finished(self);
  return GST_FLOW_OK;
}

/* Processes whatever is held and pushes it downstream, before an event that
 * must not overtake it. Called with the stream lock held. */
static GstFlowReturn drain(GstGpenEnhance* self) {
  GpenEnhancePrivate* priv = self->priv;
  GstFlowReturn ret = GST_FLOW_OK;
  if (priv->batcher && priv->batcher->size() > 0) {
    GST_DEBUG_OBJECT(self, "draining %zu held frame(s), %zu in flight", priv->batcher->size(),
                     priv->batcher->in_flight());
    ret = advance(self, true);
  }
  std::deque<GstBuffer*> frames;
  frames.swap(priv->ready);
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
  if (priv->batcher) priv->batcher->clear();
  for (auto& [id, frame] : priv->held) release_held(frame);
  priv->held.clear();
  for (auto* buffer : priv->ready) gst_buffer_unref(buffer);
  priv->ready.clear();
}

/* Pushes the frames of ours that another stream of a shared engine
 * finished. Called with the stream lock held. */
static void push_finished(GstGpenEnhance* self) {
  GpenEnhancePrivate* priv = self->priv;
  if (!priv->batcher) return;
  collect_finished(self);
  std::deque<GstBuffer*> frames;
  frames.swap(priv->ready);
  GstFlowReturn ret = GST_FLOW_OK;
  for (auto* buffer : frames) {
    if (ret == GST_FLOW_OK || ret == GST_FLOW_NOT_LINKED)
      ret = gst_pad_push(GST_BASE_TRANSFORM(self)->srcpad, buffer);
    else
      gst_buffer_unref(buffer);
  }
}

/* The gpen-stats element message, at EOS. */
static void post_stats(GstGpenEnhance* self) {
  GpenEnhancePrivate* priv = self->priv;
  if (priv->batcher)
    gpen_post_stats(GST_ELEMENT(self), priv->batcher->stats(),
                    static_cast<guint>(priv->batcher->lookahead()));
}

/* Pushes a partial batch (and the batch in flight) once its oldest frame has
 * waited batch-timeout, so a live stream never waits on frames that are slow
 * to come. */
static void timeout_loop(GstGpenEnhance* self) {
  GpenEnhancePrivate* priv = self->priv;
  GstBaseTransform* trans = GST_BASE_TRANSFORM(self);
  std::unique_lock<std::mutex> lock(priv->timer_lock);
  while (!priv->stopping) {
    if (priv->finished_elsewhere) {
      priv->finished_elsewhere = false;
      lock.unlock();
      GST_PAD_STREAM_LOCK(trans->sinkpad);
      push_finished(self);
      GST_PAD_STREAM_UNLOCK(trans->sinkpad);
      lock.lock();
      continue;
    }
    GST_OBJECT_LOCK(self);
    const guint64 timeout = priv->settings.batch_timeout;
    GST_OBJECT_UNLOCK(self);
    const auto oldest = priv->batcher->oldest_arrival();
    if (!oldest || timeout == 0) {
      // Wake up now and then: batch-timeout may be changed while playing.
      priv->timer_wake.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    const auto deadline = *oldest + std::chrono::nanoseconds(timeout);
    if (gpen::FrameBatcher::Clock::now() < deadline) {
      priv->timer_wake.wait_until(lock, deadline);
      continue;
    }
    lock.unlock();
    GST_PAD_STREAM_LOCK(trans->sinkpad);
    // Looked at again under the stream lock: the streaming thread may have
    // pushed those frames meanwhile.
    const auto waiting = priv->batcher->oldest_arrival();
    bool expired = waiting && gpen::FrameBatcher::Clock::now() >=
                                  *waiting + std::chrono::nanoseconds(timeout);
    {
      std::lock_guard<std::mutex> relock(priv->timer_lock);
      expired = expired && !priv->stopping;
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

/* Loads the model and the detection the properties ask for; null after
 * posting an error. */
static std::shared_ptr<gpen::SharedEngine> load_engine(GstGpenEnhance* self,
                                                       const Settings& settings) {
  const auto device = gpen_resolve_device(GST_ELEMENT(self), settings.device);
  if (!device) return nullptr;
  gpen::EngineParts parts;
  parts.batch_size = static_cast<int>(settings.batch_size);
  parts.enhancer = gpen_load_enhancer(GST_ELEMENT(self), settings.model, *device,
                                      gpen_core_precision(settings.precision), parts.batch_size);
  if (!parts.enhancer) return nullptr;
  const bool full = settings.face_mode == GST_GPEN_FACE_MODE_FULL;
  if (full && !gpen_create_detection(GST_ELEMENT(self), settings.detection,
                                     settings.detection_threads, *device, parts.detector,
                                     parts.pool))
    return nullptr;
  if (full && !gpen_create_face_parser(GST_ELEMENT(self), settings.paste, *device, parts.parser))
    return nullptr;
  // A batch in flight pays where the device works apart from the host (CUDA)
  // and costs a batch of latency anywhere. Full mode waits for the device in
  // detection anyway: one batch at a time there unless asked.
  parts.pipeline_depth = settings.pipeline_depth > 0 ? static_cast<int>(settings.pipeline_depth)
                         : !full && device->is_cuda() ? 2
                                                      : 1;
  GST_INFO_OBJECT(self, "pipeline depth %d%s", parts.pipeline_depth,
                  settings.pipeline_depth == 0 ? " (automatic)" : "");
  parts.mode = full ? gpen::FaceMode::Full : gpen::FaceMode::Aligned;
  return std::make_shared<gpen::SharedEngine>(std::move(parts));
}

/* A shared engine finished frames of ours: the timeout thread pushes them. */
static void wake_for_finished(GstGpenEnhance* self) {
  {
    std::lock_guard<std::mutex> lock(self->priv->timer_lock);
    self->priv->finished_elsewhere = true;
  }
  self->priv->timer_wake.notify_all();
}

static gboolean gst_gpen_enhance_start(GstBaseTransform* trans) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(trans);
  GpenEnhancePrivate* priv = self->priv;

  GST_OBJECT_LOCK(self);
  const Settings settings = priv->settings;
  GST_OBJECT_UNLOCK(self);

  if (settings.task == GST_GPEN_TASK_COLORIZE && settings.face_mode != GST_GPEN_FACE_MODE_ALIGNED) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("task=colorize needs face-mode=aligned"),
                      ("colorization takes aligned gray faces, as the reference's "
                       "face_colorization.py"));
    return FALSE;
  }
  const auto engine =
      settings.model_instance_id.empty()
          ? load_engine(self, settings)
          : gpen_acquire_engine(GST_ELEMENT(self), settings.model_instance_id,
                                [&] { return load_engine(self, settings); });
  if (!engine) return FALSE;
  {
    std::lock_guard<std::mutex> lock(priv->timer_lock);
    priv->finished_elsewhere = false;
  }
  priv->batcher =
      std::make_unique<gpen::EngineStream>(engine, [self] { wake_for_finished(self); });
  GST_OBJECT_LOCK(self);
  priv->in_use.device = engine->enhancer().device().str();
  priv->in_use.batch_size = static_cast<guint>(priv->batcher->batch_size());
  priv->in_use.pipeline_depth = static_cast<guint>(priv->batcher->pipeline_depth());
  priv->in_use.lookahead = static_cast<guint>(priv->batcher->lookahead());
  GST_OBJECT_UNLOCK(self);
  priv->latency.reset();
  {
    std::lock_guard<std::mutex> lock(priv->timer_lock);
    priv->stopping = false;
  }
  priv->timeout_thread = std::thread(timeout_loop, self);
  return TRUE;
}

static gboolean gst_gpen_enhance_stop(GstBaseTransform* trans) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(trans);
  GpenEnhancePrivate* priv = self->priv;
  {
    std::lock_guard<std::mutex> lock(priv->timer_lock);
    priv->stopping = true;
  }
  priv->timer_wake.notify_all();
  if (priv->timeout_thread.joinable()) priv->timeout_thread.join();
  discard_frames(priv);
  // Leaves the engine; the last of its streams frees it.
  priv->batcher.reset();
  priv->have_info = false;
  GST_OBJECT_LOCK(self);
  priv->in_use = InUse{};
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
  // New caps (a new size, a new stream): faces are searched afresh.
  if (priv->batcher) priv->batcher->reset_tracks();
  GST_OBJECT_LOCK(self);
  priv->in_use.fps_n = info.fps_n, priv->in_use.fps_d = info.fps_d;
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
  if (!priv->batcher || !priv->have_info) {
    gst_buffer_unref(input);
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Received frames before the element was ready"),
                      ("model loaded: %d, caps set: %d", priv->batcher != nullptr,
                       priv->have_info));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  const bool full = priv->batcher->mode() == gpen::FaceMode::Full;
  GST_OBJECT_LOCK(self);
  const bool keep_original = priv->settings.strength <= 0.0;
  GST_OBJECT_UNLOCK(self);
  // Full mode at strength 0 is the original frame: with nothing held before
  // it, it leaves at once and nothing runs.
  if (full && keep_original && priv->batcher->size() == 0) {
    priv->ready.push_back(input);
    return GST_FLOW_OK;
  }
  // Upstream's faces are read before the buffer may be copied to be written.
  auto faces = full ? gpen_faces_from_buffer(input) : std::nullopt;
  HeldFrame frame;
  frame.buffer = gst_buffer_make_writable(input);
  if (!gst_video_frame_map(&frame.mapped, &priv->info, frame.buffer, GST_MAP_READWRITE)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map a video frame for writing"),
                      ("buffer %" GST_PTR_FORMAT, frame.buffer));
    gst_buffer_unref(frame.buffer);
    return GST_FLOW_ERROR;
  }
  const gpen::FrameId id = priv->next_frame_id++;
  GST_OBJECT_LOCK(self);
  const gpen::TrackingOptions tracking =
      gpen_tracking_options(priv->settings.tracking, priv->info.fps_n);
  GST_OBJECT_UNLOCK(self);
  priv->batcher->set_tracking(tracking);
  try {
    if (gpen_video_info_is_yuv(&priv->info))
      priv->batcher->push(id, gpen_yuv_view(&frame.mapped), std::move(faces));
    else
      priv->batcher->push(id, gpen_image_view(&frame.mapped), std::move(faces));
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("GPEN face restoration failed"), ("%s", e.what()));
    release_held(frame);
    return GST_FLOW_ERROR;
  }
  priv->held.emplace(id, frame);
  priv->timer_wake.notify_all();
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
      if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) post_stats(self);
      // A new segment (a seek) or stream: the faces held so far are gone.
      if ((GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT ||
           GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START) &&
          self->priv->batcher)
        self->priv->batcher->reset_tracks();
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

static gboolean gst_gpen_enhance_query(GstBaseTransform* trans, GstPadDirection direction,
                                       GstQuery* query) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(trans);
  GpenEnhancePrivate* priv = self->priv;
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    if (!gst_pad_peer_query(trans->sinkpad, query)) return FALSE;
    gboolean live = FALSE;
    GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
    gst_query_parse_latency(query, &live, &min, &max);
    GST_OBJECT_LOCK(self);
    const InUse in_use = priv->in_use;
    const guint64 timeout = priv->settings.batch_timeout;
    GST_OBJECT_UNLOCK(self);
    const GstClockTime ours =
        gpen::batch_fill_latency_ns(static_cast<int>(in_use.batch_size),
                                    static_cast<int>(in_use.pipeline_depth),
                                    static_cast<int>(in_use.lookahead), in_use.fps_n,
                                    in_use.fps_d, live, timeout) +
        priv->latency.reported();
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
  const guint held = std::max(self->priv->in_use.batch_size, 1u) *
                         std::max(self->priv->in_use.pipeline_depth, 1u) +
                     self->priv->in_use.lookahead;
  GST_OBJECT_UNLOCK(self);
  gpen_propose_held_allocation(query, held);
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
  if (gpen_detector_set_property(s.detection, PROP_DETECTOR_FIRST, prop_id, value) ||
      gpen_paste_set_property(s.paste, PROP_PASTE_FIRST, prop_id, value) ||
      gpen_tracking_set_property(s.tracking, PROP_TRACKING_FIRST, prop_id, value)) {
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
    case PROP_DETECTION_THREADS: s.detection_threads = g_value_get_uint(value); break;
    case PROP_MODEL_INSTANCE_ID: {
      const gchar* id = g_value_get_string(value);
      s.model_instance_id = id ? id : "";
      break;
    }
    case PROP_BATCH_TIMEOUT: s.batch_timeout = g_value_get_uint64(value); break;
    case PROP_DEVICE: {
      const gchar* device = g_value_get_string(value);
      s.device = device ? device : kDefaultDevice;
      break;
    }
    case PROP_PRECISION: s.precision = static_cast<GstGpenPrecision>(g_value_get_enum(value)); break;
    case PROP_STRENGTH: s.strength = g_value_get_double(value); break;
    case PROP_TASK: s.task = static_cast<GstGpenTask>(g_value_get_enum(value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
  if (prop_id == PROP_BATCH_TIMEOUT) {
    self->priv->timer_wake.notify_all();
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  }
}

static void gst_gpen_enhance_get_property(GObject* object, guint prop_id, GValue* value,
                                          GParamSpec* pspec) {
  GstGpenEnhance* self = GST_GPEN_ENHANCE(object);
  const Settings& s = self->priv->settings;
  GST_OBJECT_LOCK(self);
  if (gpen_detector_get_property(s.detection, PROP_DETECTOR_FIRST, prop_id, value) ||
      gpen_paste_get_property(s.paste, PROP_PASTE_FIRST, prop_id, value) ||
      gpen_tracking_get_property(s.tracking, PROP_TRACKING_FIRST, prop_id, value)) {
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
    case PROP_DETECTION_THREADS: g_value_set_uint(value, s.detection_threads); break;
    case PROP_MODEL_INSTANCE_ID: g_value_set_string(value, s.model_instance_id.c_str()); break;
    case PROP_BATCH_TIMEOUT: g_value_set_uint64(value, s.batch_timeout); break;
    case PROP_DEVICE: g_value_set_string(value, s.device.c_str()); break;
    case PROP_PRECISION: g_value_set_enum(value, s.precision); break;
    case PROP_STRENGTH: g_value_set_double(value, s.strength); break;
    case PROP_TASK: g_value_set_enum(value, s.task); break;
    case PROP_CURRENT_BATCH_SIZE: g_value_set_uint(value, self->priv->in_use.batch_size); break;
    case PROP_CURRENT_DEVICE: g_value_set_string(value, self->priv->in_use.device.c_str()); break;
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
                        "Batches under way at once. 1: a batch is finished before the next "
                        "gathers; 2: the device runs one while the next gathers, so copies in and "
                        "out overlap the network, for a batch more latency (0 = automatic: 2 in "
                        "face-mode=aligned on CUDA, else 1)",
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
  g_object_class_install_property(gobject_class, PROP_DETECTION_THREADS,
      g_param_spec_uint("detection-threads", "Detection threads",
                        "face-mode=full: threads that find the faces of the next frames while the "
                        "network runs, each frame on one; frames wait that many frames longer "
                        "(0 = none: frames are detected in the streaming thread, batched)",
                        0, 64, 0, ready));
  g_object_class_install_property(gobject_class, PROP_MODEL_INSTANCE_ID,
      g_param_spec_string("model-instance-id", "Model instance id",
                          "Elements with the same id share one loaded model, device and batcher "
                          "in the process: the faces of all their streams fill the same batches, "
                          "each stream's frames leave in its own order. Their model, device, "
                          "precision, face-mode, batch-size, pipeline-depth and detection "
                          "properties must agree (empty = a model of its own)",
                          "", ready));
  gpen_detector_install_properties(gobject_class, PROP_DETECTOR_FIRST);
  gpen_paste_install_properties(gobject_class, PROP_PASTE_FIRST);
  gpen_task_install_property(gobject_class, PROP_TASK);
  gpen_tracking_install_properties(gobject_class, PROP_TRACKING_FIRST);
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
  gst_type_mark_as_plugin_api(GST_TYPE_GPEN_PASTE_MASK, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_GPEN_TASK, static_cast<GstPluginAPIFlags>(0));
}

static void gst_gpen_enhance_init(GstGpenEnhance* self) {
  self->priv = new GpenEnhancePrivate();
  gst_video_info_init(&self->priv->info);
  // Frames are enhanced in the buffers they arrive in.
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gpen_transform_flush_unforwardable_events(GST_BASE_TRANSFORM(self));
}
