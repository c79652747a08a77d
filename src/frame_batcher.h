// The one batcher of gpenenhance, for both face modes: frames come in with an
// id and their pixels, their faces gather into GPU-sized batches across
// frames, and frames leave in the order they came, their pixels written
// where they were read.
//
// face-mode=aligned: every frame is one aligned face; a batch is batch_size
// frames. face-mode=full: faces come with the frame (upstream metas) or from
// the detector, batched over frames; their aligned crops gather across
// frames (a frame with five faces and frames with none fill batches alike),
// go through the network, and are pasted back.
//
// With pipeline_depth 2 a launched batch is left to the device while the
// next one gathers, and is finished when that one is launched in turn. With
// a DetectionPool, full mode hands each frame to the pool's workers as it
// arrives and holds as many frames more as the pool has workers, so that the
// next frames are searched while the network and paste-back run.
//
// Frames may belong to several streams (StreamId; 0 when there is one):
// their faces fill the same batches, and each stream's frames leave in that
// stream's order (pop(stream)), drain (advance(stream, ...)) and are cleared
// (clear(stream)) apart from the others'. SharedEngine (engine/) is the
// multi-stream user.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include <torch/types.h>

#include "faces/detection_pool.h"
#include "faces/face.h"
#include "faces/face_align.h"
#include "faces/face_tracker.h"
#include "launched_batch.h"
#include "pipeline_stats.h"
#include "runtime/image_tensor.h"
#include "runtime/yuv_image.h"

namespace gpen {

class FaceDetector;
class FaceEnhancer;
class FaceParser;

enum class FaceMode { Aligned, Full };

using FrameId = std::uint64_t;
using StreamId = std::uint32_t;

struct RestoreOptions {
  float strength = 1.f;  // 0 keeps the original faces, 1 pastes the network's
  float denoise = 0.f;   // full mode: denoise amount of the crops before the network
  float sharpen = 0.f;   // full mode: unsharp-mask amount of the faces after it
  int max_faces = 0;     // full mode: faces restored per frame, largest first (0: all)
  bool colorize = false;  // aligned mode: colorize gray faces (colorization/) instead
};

struct FinishedFrame {
  FrameId id = 0;
  std::vector<FaceDetection> faces;  // the faces restored, in frame pixels
  bool changed = false;              // whether its pixels were written
};

// What a call of advance() did.
struct BatchProgress {
  std::size_t faces = 0;        // faces that went through the network
  std::size_t finished = 0;     // batches whose results were written
  double batch_seconds = 0;     // the longest host time of those batches
};

class FrameBatcher {
 public:
  using Clock = std::chrono::steady_clock;

  // `detector` may be null when every frame comes with its faces (and in
  // aligned mode); `pool`, when given, detects instead of it. They must
  // outlive the batcher. batch_size >= 1 faces per network run;
  // pipeline_depth 1 or 2 batches under way.
  FrameBatcher(FaceEnhancer& enhancer, FaceDetector* detector, FaceMode mode, int batch_size,
               int pipeline_depth = 1, DetectionPool* pool = nullptr);

  // Full mode: faces are pasted through the face-parsing masks `parser`
  // makes of them (parsed batch by batch after the network) instead of the
  // rectangle mask; null (the default) pastes through the rectangle. The
  // parser must outlive the batcher; set it before the first push.
  void set_face_parser(const FaceParser* parser) { parser_ = parser; }

  // Queues a frame. `image` is read now or at its batch's launch and written
  // when its results are ready: it must stay valid, and writable, until the
  // frame is popped or cleared. Full mode: `faces` are the faces an upstream
  // detector found, in frame pixels (an empty vector: a frame known to have
  // none); nullopt has them detected here. Ids must be unique among frames
  // held.
  void push(FrameId id, const ImageView& image,
            std::optional<std::vector<FaceDetection>> faces = std::nullopt,
            StreamId stream = 0);
  // The same for a 4:2:0 frame (I420, NV12): its planes go to the network's
  // device and are turned into RGB there; only the pixels its faces changed
  // are written back into its planes (aligned mode: all of them).
  void push(FrameId id, const YuvView& image,
            std::optional<std::vector<FaceDetection>> faces = std::nullopt,
            StreamId stream = 0);

  // Does the work that is due: a full batch is launched (full mode: frames
  // waiting for detection are detected together once their faces could fill
  // a batch, and full batches of faces go through the network), the batch
  // in flight before it finished. Once batch_size frames wait, they are all
  // launched (the last batch partial), so a frame never waits behind more
  // than batch_size - 1 others besides a batch in flight (and lookahead()
  // frames being detected). With `drain`,
  // everything held is finished. Throws on detection or network errors (the
  // frames stay held; clear() drops them).
  BatchProgress advance(const RestoreOptions& options, bool drain);
  // The same for one stream among several: `options` become its frames'
  // (frames not yet launched), and `drain` finishes its frames only (frames
  // of other streams may fill the batches that drain runs).
  BatchProgress advance(StreamId stream, const RestoreOptions& options, bool drain);

  // The next frame whose pixels are written, in push order.
  std::optional<FinishedFrame> pop();
  // The next frame of `stream` whose pixels are written, in its push order.
  std::optional<FinishedFrame> pop(StreamId stream);
  // Whether pop(stream) has a frame.
  bool ready(StreamId stream) const;

  // Frames pushed and not yet popped.
  std::size_t size() const { return frames_.size(); }
  // Of those, frames whose batch is launched and not finished.
  std::size_t in_flight() const;
  // When the oldest frame not yet popped arrived; safe from any thread.
  std::optional<Clock::time_point> oldest_arrival() const;
  // The same per stream (not thread-safe).
  std::size_t size(StreamId stream) const;
  std::size_t in_flight(StreamId stream) const;
  std::optional<Clock::time_point> oldest_arrival(StreamId stream) const;

  FaceMode mode() const { return mode_; }
  int batch_size() const { return batch_size_; }
  int pipeline_depth() const { return pipeline_depth_; }
  // Frames held beyond a batch so that detection works ahead: the pool's
  // workers, else 0.
  int lookahead() const { return lookahead_; }
  // The most frames held at once: batch_size x pipeline_depth + lookahead.
  int max_held() const { return batch_size_ * pipeline_depth_ + lookahead_; }
  // Where the time went so far (the pool's workers' time as detection).
  PipelineStats stats() const;
  // Network runs so far (for logs and tests).
  std::size_t batches_run() const { return batches_run_; }
  // Drops every frame held, launched or not; their images are left as they
  // are or partly written. The tracks are reset.
  void clear();
  // Drops the frames of `stream` only. The batches in flight are finished
  // first (they may write into its images; throws on device errors).
  void clear(StreamId stream);

  // Full mode: how faces are followed over the frames (off by default:
  // every frame on its own). With tracking, the faces of each frame go
  // through a FaceTracker in push order before they are aligned (ids,
  // smoothing, missed faces carried), and with detection_interval N only
  // every N-th frame without upstream faces is searched; the others get the
  // tracks' faces. Takes effect from the next frame pushed; turning it off
  // resets the tracks. Each stream has its own tracks and options.
  void set_tracking(const TrackingOptions& tracking, StreamId stream = 0);
  TrackingOptions tracking(StreamId stream = 0) const;
  // Forgets a stream's tracks (a seek, new caps): its next frame is searched.
  void reset_tracks(StreamId stream = 0);

 private:
  // Which frames a drain must finish: none, all, or one stream's.
  struct Drain {
    bool any = false;
    bool all = false;
    StreamId stream = 0;
    template <typename F>
    bool covers(const F& frame) const {
      return all || (any && frame.stream == stream);
    }
  };
  struct Frame {
    FrameId id = 0;
    StreamId stream = 0;
    RestoreOptions options;  // its stream's, as of its last advance before its launch
    ImageView image;  // a 4:2:0 frame: its RGB copy in aligned mode, else only its size
    std::optional<YuvView> yuv;  // the frame's own planes, for 4:2:0 frames
    YuvPlanes yuv_planes;        // full mode: those planes on the network's device
    torch::Tensor staging;       // aligned mode: the RGB copy [H, W, 3] `image` views
    Clock::time_point arrival;
    bool launched = false;  // its results are in a launched batch (or it needs none)
    bool done = false;      // its results are written (or it needs none)
    bool changed = false;   // it has results to write
    std::vector<FaceDetection> faces;
    // Full mode: the frame on the detector's and the network's devices.
    torch::Tensor for_detector, on_device;
    std::optional<std::vector<FaceDetection>> found;  // before selection
    std::optional<DetectionPool::Ticket> detecting;  // at the pool
    bool track_only = false;  // not searched: the tracks' faces (detection interval)
    bool located = false;  // faces chosen and their crops queued
    std::vector<Affine> to_crop;
    std::vector<torch::Tensor> restored;  // per face, [3, S, S] float
    std::vector<torch::Tensor> masks;     // per face, [S, S] float, with a parser
    std::size_t remaining = 0;            // faces still waiting for the network
  };
  struct Crop {
    FrameId frame = 0;
    std::size_t face = 0;
    torch::Tensor pixels;  // [3, S, S] float in [0, 255]
  };
  struct Launch {
    std::vector<FrameId> frames;
    LaunchedBatch results;
  };

  // Whether a frame's faces are searched for in host memory.
  bool detects_on_host(bool has_faces) const;
  void queue(Frame frame, std::optional<std::vector<FaceDetection>> faces,
             const torch::Tensor& host_rgb);
  Frame* find(FrameId id);
  BatchProgress run(const Drain& drain);
  std::optional<Launch> launch_aligned(const Drain& drain);
  std::optional<Launch> launch_full(const Drain& drain, BatchProgress& progress);
  void detect(const Drain& drain, std::size_t forced);
  void locate(Frame& frame, std::vector<FaceDetection> faces);
  void locate_in_order();
  std::size_t enhance(bool all, const Drain& drain);
  void finish(Launch& launch, BatchProgress& progress);
  void note_oldest();

  FaceEnhancer& enhancer_;
  FaceDetector* detector_;
  DetectionPool* pool_;
  const FaceParser* parser_ = nullptr;
  FaceMode mode_;
  int batch_size_;
  int pipeline_depth_;
  int lookahead_;
  std::size_t batches_run_ = 0;
  struct StreamTracks {
    TrackingOptions options;
    FaceTracker tracker;
    std::uint64_t since_search = 0;  // frames pushed since the last one searched
  };
  std::map<StreamId, StreamTracks> tracks_;
  PipelineStats stats_;
  std::optional<Clock::time_point> first_push_;
  std::deque<Frame> frames_;  // in push order, until popped
  std::deque<Crop> crops_;    // full mode: waiting for the network
  std::deque<Launch> in_flight_;
  // Clock ticks of frames_.front().arrival, or kNone.
  static constexpr Clock::rep kNone = std::numeric_limits<Clock::rep>::min();
  std::atomic<Clock::rep> oldest_{kNone};
};

}  // namespace gpen
