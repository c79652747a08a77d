#include "engine/shared_engine.h"

#include <utility>

#include "runtime/error.h"

namespace gpen {

SharedEngine::SharedEngine(EngineParts parts) : parts_(std::move(parts)) {
  if (!parts_.enhancer) throw Error("SharedEngine: no model");
  batcher_ = std::make_unique<FrameBatcher>(*parts_.enhancer, parts_.detector.get(), parts_.mode,
                                            parts_.batch_size, parts_.pipeline_depth,
                                            parts_.pool.get());
  batcher_->set_face_parser(parts_.parser.get());
}

// The batcher goes before the detection and the model it uses.
SharedEngine::~SharedEngine() { batcher_.reset(); }

std::size_t SharedEngine::streams() const {
  std::lock_guard<std::mutex> guard(lock_);
  return streams_.size();
}

PipelineStats SharedEngine::stats() const {
  std::lock_guard<std::mutex> guard(lock_);
  return batcher_->stats();
}

std::size_t SharedEngine::batches_run() const {
  std::lock_guard<std::mutex> guard(lock_);
  return batcher_->batches_run();
}

StreamId SharedEngine::open(Wake wake) {
  StreamId stream = 0;
  {
    std::lock_guard<std::mutex> guard(lock_);
    // The smallest id free: ids stay small however often streams come and go.
    while (streams_.count(stream)) ++stream;
    streams_[stream] = true;
  }
  std::lock_guard<std::mutex> guard(wake_lock_);
  if (wake) wakes_[stream] = std::move(wake);
  return stream;
}

void SharedEngine::close(StreamId stream) {
  {
    std::lock_guard<std::mutex> guard(wake_lock_);
    wakes_.erase(stream);
  }
  std::lock_guard<std::mutex> guard(lock_);
  batcher_->clear(stream);
  streams_.erase(stream);
}

void SharedEngine::wake_others(StreamId caller) {
  std::vector<StreamId> due;
  {
    std::lock_guard<std::mutex> guard(lock_);
    for (const auto& entry : streams_)
      if (entry.first != caller && batcher_->ready(entry.first)) due.push_back(entry.first);
  }
  if (due.empty()) return;
  std::lock_guard<std::mutex> guard(wake_lock_);
  for (const StreamId stream : due) {
    const auto found = wakes_.find(stream);
    if (found != wakes_.end()) found->second();
  }
}

EngineStream::EngineStream(std::shared_ptr<SharedEngine> engine, SharedEngine::Wake wake)
    : engine_(std::move(engine)) {
  if (!engine_) throw Error("EngineStream: no engine");
  stream_ = engine_->open(std::move(wake));
}

EngineStream::~EngineStream() {
  try {
    engine_->close(stream_);
  } catch (const std::exception&) {
    // A device error finishing a batch in flight: the frames are gone either way.
  }
}

void EngineStream::push(FrameId id, const ImageView& image,
                        std::optional<std::vector<FaceDetection>> faces) {
  std::lock_guard<std::mutex> guard(engine_->lock_);
  engine_->batcher_->push(engine_id(id), image, std::move(faces), stream_);
}

void EngineStream::push(FrameId id, const YuvView& image,
                        std::optional<std::vector<FaceDetection>> faces) {
  std::lock_guard<std::mutex> guard(engine_->lock_);
  engine_->batcher_->push(engine_id(id), image, std::move(faces), stream_);
}

void EngineStream::set_tracking(const TrackingOptions& tracking) {
  std::lock_guard<std::mutex> guard(engine_->lock_);
  engine_->batcher_->set_tracking(tracking, stream_);
}

void EngineStream::reset_tracks() {
  std::lock_guard<std::mutex> guard(engine_->lock_);
  engine_->batcher_->reset_tracks(stream_);
}

BatchProgress EngineStream::advance(const RestoreOptions& options, bool drain) {
  BatchProgress progress;
  {
    std::lock_guard<std::mutex> guard(engine_->lock_);
    progress = engine_->batcher_->advance(stream_, options, drain);
  }
  // Frames of other streams may be done now (even without a network run:
  // frames without faces, strength 0).
  engine_->wake_others(stream_);
  return progress;
}

std::optional<FinishedFrame> EngineStream::pop() {
  std::lock_guard<std::mutex> guard(engine_->lock_);
  auto frame = engine_->batcher_->pop(stream_);
  if (frame) frame->id &= (FrameId{1} << kStreamShift) - 1;
  return frame;
}

std::size_t EngineStream::size() const {
  std::lock_guard<std::mutex> guard(engine_->lock_);
  return engine_->batcher_->size(stream_);
}

std::size_t EngineStream::in_flight() const {
  std::lock_guard<std::mutex> guard(engine_->lock_);
  return engine_->batcher_->in_flight(stream_);
}

std::optional<EngineStream::Clock::time_point> EngineStream::oldest_arrival() const {
  std::lock_guard<std::mutex> guard(engine_->lock_);
  return engine_->batcher_->oldest_arrival(stream_);
}

void EngineStream::clear() {
  std::lock_guard<std::mutex> guard(engine_->lock_);
  engine_->batcher_->clear(stream_);
}

}  // namespace gpen
