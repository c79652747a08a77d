// One loaded model, its device, its detection and one batcher, shared by
// several streams: the faces of all of them fill the same batches, and each
// stream's frames leave in its own order. A stream is an EngineStream, the
// handle a gpenenhance element holds; the engine lives as long as a stream
// (or the registry's user) holds it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "face_enhancer.h"
#include "faces/detection_pool.h"
#include "faces/face_detector.h"
#include "frame_batcher.h"
#include "parsing/face_parser.h"

namespace gpen {

// What an engine runs with; the engine owns it all.
struct EngineParts {
  std::unique_ptr<FaceEnhancer> enhancer;
  std::unique_ptr<FaceDetector> detector;  // full mode, unless every frame has its faces
  std::unique_ptr<DetectionPool> pool;     // full mode with detection workers
  std::unique_ptr<FaceParser> parser;      // full mode with the parse paste mask
  FaceMode mode = FaceMode::Full;
  int batch_size = 1;
  int pipeline_depth = 1;
};

class SharedEngine {
 public:
  using Clock = FrameBatcher::Clock;
  // Called, without the engine's lock, when frames of a stream were finished
  // by another stream's work: that stream should pop them.
  using Wake = std::function<void()>;

  explicit SharedEngine(EngineParts parts);
  ~SharedEngine();
  SharedEngine(const SharedEngine&) = delete;
  SharedEngine& operator=(const SharedEngine&) = delete;

  FaceMode mode() const { return batcher_->mode(); }
  int batch_size() const { return batcher_->batch_size(); }
  int pipeline_depth() const { return batcher_->pipeline_depth(); }
  int lookahead() const { return batcher_->lookahead(); }
  const FaceEnhancer& enhancer() const { return *parts_.enhancer; }
  // Streams open now.
  std::size_t streams() const;
  // The whole engine's stats (all streams) and network runs.
  PipelineStats stats() const;
  std::size_t batches_run() const;

 private:
  friend class EngineStream;

  StreamId open(Wake wake);
  void close(StreamId stream);
  // Calls the wakes of the streams, other than `caller`, that have frames
  // to pop.
  void wake_others(StreamId caller);

  EngineParts parts_;
  mutable std::mutex lock_;  // guards batcher_ and streams_
  std::unique_ptr<FrameBatcher> batcher_;
  std::map<StreamId, bool> streams_;  // open streams (the value: unused)
  // The wakes, under their own lock so that a stream closing waits for a
  // wake being called (it may use the stream's element); never taken with
  // lock_ held.
  std::mutex wake_lock_;
  std::map<StreamId, Wake> wakes_;
};

// A stream's handle on an engine: FrameBatcher's interface for one stream.
// Frame ids are the stream's own. Thread-safe against other streams; one
// stream's calls come from one thread at a time (its stream lock).
class EngineStream {
 public:
  using Clock = FrameBatcher::Clock;

  // Opens a stream on `engine`; `wake` (may be empty) as SharedEngine::Wake.
  EngineStream(std::shared_ptr<SharedEngine> engine, SharedEngine::Wake wake = {});
  // Drops the stream's frames and leaves the engine (freed with its last
  // stream).
  ~EngineStream();
  EngineStream(const EngineStream&) = delete;
  EngineStream& operator=(const EngineStream&) = delete;

  void push(FrameId id, const ImageView& image,
            std::optional<std::vector<FaceDetection>> faces = std::nullopt);
  void push(FrameId id, const YuvView& image,
            std::optional<std::vector<FaceDetection>> faces = std::nullopt);
  // This stream's tracking (FrameBatcher::set_tracking, reset_tracks).
  void set_tracking(const TrackingOptions& tracking);
  void reset_tracks();
  // FrameBatcher::advance for this stream: `drain` finishes its frames.
  BatchProgress advance(const RestoreOptions& options, bool drain);
  std::optional<FinishedFrame> pop();
  std::size_t size() const;
  std::size_t in_flight() const;
  std::optional<Clock::time_point> oldest_arrival() const;
  // Drops this stream's frames only.
  void clear();

  FaceMode mode() const { return engine_->mode(); }
  int batch_size() const { return engine_->batch_size(); }
  int pipeline_depth() const { return engine_->pipeline_depth(); }
  int lookahead() const { return engine_->lookahead(); }
  PipelineStats stats() const { return engine_->stats(); }
  std::size_t batches_run() const { return engine_->batches_run(); }
  StreamId id() const { return stream_; }
  const std::shared_ptr<SharedEngine>& engine() const { return engine_; }

 private:
  // The engine's frame ids: the stream in the top bits.
  static constexpr int kStreamShift = 44;
  FrameId engine_id(FrameId id) const {
    return (static_cast<FrameId>(stream_) << kStreamShift) |
           (id & ((FrameId{1} << kStreamShift) - 1));
  }

  std::shared_ptr<SharedEngine> engine_;
  StreamId stream_;
};

}  // namespace gpen
