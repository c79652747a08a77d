#include "frame_batcher.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include <torch/torch.h>

#include "face_enhancer.h"
#include "faces/detection_pool.h"
#include "faces/face_detector.h"
#include "colorization/face_colorizer.h"
#include "faces/face_filters.h"
#include "parsing/face_parser.h"
#include "faces/paste_back.h"
#include "runtime/cpu_tensor_cache.h"
#include "runtime/error.h"
#include "runtime/pixel_transfer.h"

namespace gpen {
namespace {

// The frame -> crop similarity of a face, unless its landmarks cannot be a
// face: collapsed to a point, or so far apart (or so close) that the crop
// would be a speck of the frame or the frame a speck of the crop. Such faces
// come from broken upstream metas; they are skipped, not an error.
std::optional<Affine> usable_alignment(const FaceDetection& face, int size) {
  constexpr double kMinScale = 1e-4, kMaxScale = 1e4;
  try {
    const Affine to_crop = alignment_transform(face, size);
    const double scale = to_crop.scale();
    if (!(scale > kMinScale && scale < kMaxScale)) return std::nullopt;
    const Affine back = invert_affine(to_crop);
    for (const double v : back.m)
      if (!std::isfinite(v)) return std::nullopt;
    return to_crop;
  } catch (const Error&) {
    return std::nullopt;
  }
}

// In aligned mode the frame is the face.
FaceDetection whole_frame(const ImageView& image) {
  FaceDetection whole;
  whole.x2 = static_cast<float>(image.width);
  whole.y2 = static_cast<float>(image.height);
  whole.score = 1.f;
  return whole;
}

}  // namespace

FrameBatcher::FrameBatcher(FaceEnhancer& enhancer, FaceDetector* detector, FaceMode mode,
                           int batch_size, int pipeline_depth, DetectionPool* pool)
    : enhancer_(enhancer),
      detector_(detector),
      pool_(mode == FaceMode::Full ? pool : nullptr),
      mode_(mode),
      batch_size_(std::max(batch_size, 1)),
      pipeline_depth_(std::clamp(pipeline_depth, 1, 2)),
      lookahead_(pool_ ? static_cast<int>(pool_->workers()) : 0) {}

void FrameBatcher::push(FrameId id, const ImageView& image,
                        std::optional<std::vector<FaceDetection>> faces, StreamId stream) {
  TORCH_CHECK(image.data && image.width > 0 && image.height > 0,
              "FrameBatcher: a frame needs pixels, got ", image.width, "x", image.height);
  Frame frame;
  frame.id = id;
  frame.stream = stream;
  frame.image = image;
  frame.arrival = Clock::now();
  torch::Tensor host_rgb;
  if (mode_ == FaceMode::Full) {
    // Read now: on CUDA the bytes cross once, and the frame waits on the
    // device for its faces.
    const StageTimer timer(stats_, Stage::Upload);
    torch::InferenceMode inference;
    frame.on_device = upload_rgb(image, enhancer_.device());
    // A detector on the host reads the host's pixels, not a copy back.
    if (detects_on_host(faces.has_value()))
      host_rgb = frame.on_device.is_cpu() ? frame.on_device : read_rgb(image);
  }
  queue(std::move(frame), std::move(faces), host_rgb);
}

void FrameBatcher::push(FrameId id, const YuvView& image,
                        std::optional<std::vector<FaceDetection>> faces, StreamId stream) {
  TORCH_CHECK(image.y && image.u && image.width > 0 && image.height > 0,
              "FrameBatcher: a frame needs pixels, got ", image.width, "x", image.height);
  Frame frame;
  frame.id = id;
  frame.stream = stream;
  frame.yuv = image;
  frame.arrival = Clock::now();
  torch::Tensor host_rgb;
  {
    const StageTimer timer(stats_, Stage::Upload);
    torch::InferenceMode inference;
    if (mode_ == FaceMode::Full) {
      frame.yuv_planes = upload_yuv(image, enhancer_.device());
      frame.on_device = yuv_to_rgb(frame.yuv_planes, image.matrix);
      if (detects_on_host(faces.has_value())) host_rgb = frame.on_device.cpu();
      frame.image.data = image.y;  // the size only: results go to the planes
    } else {
      // The network reads and writes interleaved RGB: it gets a copy, which
      // goes back into the planes when its batch finishes.
      frame.staging = yuv_to_rgb(upload_yuv(image, torch::kCPU), image.matrix)
                          .permute({1, 2, 0})
                          .contiguous();
      frame.image.data = frame.staging.data_ptr<std::uint8_t>();
      frame.image.row_stride = static_cast<std::ptrdiff_t>(image.width) * 3;
    }
    frame.image.width = image.width;
    frame.image.height = image.height;
  }
  queue(std::move(frame), std::move(faces), host_rgb);
}

bool FrameBatcher::detects_on_host(bool has_faces) const {
  return !has_faces &&
         (pool_ ? pool_->device() : detector_ ? detector_->device() : enhancer_.device()).is_cpu();
}

void FrameBatcher::queue(Frame frame, std::optional<std::vector<FaceDetection>> faces,
                         const torch::Tensor& host_rgb) {
  if (mode_ == FaceMode::Full) {
    frame.for_detector = detects_on_host(faces.has_value()) ? host_rgb : frame.on_device;
    // Between searches (detection interval), the tracks give the faces.
    StreamTracks& tracks = tracks_[frame.stream];
    if (!faces && tracks.options.enabled) {
      const auto interval =
          static_cast<std::uint64_t>(std::max(tracks.options.detection_interval, 1));
      frame.track_only = tracks.since_search % interval != 0;
      ++tracks.since_search;
    }
    // The pool starts on it at once.
    if (pool_ && !faces && !frame.track_only) frame.detecting = pool_->submit(frame.for_detector);
    frame.found = std::move(faces);
  }
  if (!first_push_) first_push_ = frame.arrival;
  frames_.push_back(std::move(frame));
  note_oldest();
}

FrameBatcher::Frame* FrameBatcher::find(FrameId id) {
  for (auto& frame : frames_)
    if (frame.id == id) return &frame;
  return nullptr;
}

std::size_t FrameBatcher::in_flight() const {
  std::size_t count = 0;
  for (const auto& launch : in_flight_) count += launch.frames.size();
  return count;
}

std::size_t FrameBatcher::size(StreamId stream) const {
  return static_cast<std::size_t>(std::count_if(
      frames_.begin(), frames_.end(), [&](const Frame& f) { return f.stream == stream; }));
}

std::size_t FrameBatcher::in_flight(StreamId stream) const {
  return static_cast<std::size_t>(std::count_if(frames_.begin(), frames_.end(), [&](const Frame& f) {
    return f.stream == stream && f.launched && !f.done;
  }));
}

std::optional<FrameBatcher::Clock::time_point> FrameBatcher::oldest_arrival(
    StreamId stream) const {
  for (const auto& frame : frames_)
    if (frame.stream == stream) return frame.arrival;
  return std::nullopt;
}

std::optional<FrameBatcher::Clock::time_point> FrameBatcher::oldest_arrival() const {
  const Clock::rep ticks = oldest_.load(std::memory_order_acquire);
  if (ticks == kNone) return std::nullopt;
  return Clock::time_point(Clock::duration(ticks));
}

void FrameBatcher::note_oldest() {
  oldest_.store(frames_.empty() ? kNone : frames_.front().arrival.time_since_epoch().count(),
                std::memory_order_release);
}

/* ---- aligned mode ---- */

// Launches every frame not yet launched once there is a batch of them (or a
// drain of one of them): they are read now and written when the batch
// finishes. Strength 0 launches nothing: those frames leave as they came.
std::optional<FrameBatcher::Launch> FrameBatcher::launch_aligned(const Drain& drain) {
  std::vector<Frame*> waiting;
  bool due = false;
  for (auto& frame : frames_)
    if (!frame.launched) {
      waiting.push_back(&frame);
      due = due || drain.covers(frame);
    }
  if (waiting.empty() || (!due && waiting.size() < static_cast<std::size_t>(batch_size_)))
    return std::nullopt;
  Launch launch;
  std::vector<ImageView> views;
  std::vector<float> strengths;  // streams sharing a batch may ask for different ones
  for (Frame* frame : waiting) {
    frame->faces = {whole_frame(frame->image)};
    launch.frames.push_back(frame->id);
    if (frame->options.strength > 0.f) {
      views.push_back(frame->image);
      strengths.push_back(frame->options.strength);
    }
  }
  bool colorize = false;  // the task is the element's: one for all the engine's streams
  for (Frame* frame : waiting)
    colorize = colorize || (frame->options.strength > 0.f && frame->options.colorize);
  if (!views.empty() && colorize) {
    // Colorization's post-processing is OpenCV's on the host, as the
    // reference's: the batch is done here, its results written at finish.
    const StageTimer timer(stats_, Stage::Network);
    std::vector<cv::Mat> gray;
    for (const ImageView& view : views) {
      const auto rgb = read_rgb(view).permute({1, 2, 0}).flip({2}).contiguous();
      gray.push_back(cv::Mat(view.height, view.width, CV_8UC3, rgb.data_ptr()).clone());
    }
    const auto colours = colorize_faces(enhancer_, gray);
    for (std::size_t i = 0; i < views.size(); ++i) {
      const auto bgr = torch::from_blob(colours[i].data, {colours[i].rows, colours[i].cols, 3},
                                        torch::kByte);
      launch.results.add(bgr.flip({2}).permute({2, 0, 1}).contiguous(), views[i]);
    }
    ++batches_run_;
    stats_.faces += views.size();
  } else if (!views.empty()) {
    const StageTimer timer(stats_, Stage::Network);
    launch.results = enhancer_.launch_aligned(views, strengths);
    ++batches_run_;
    stats_.faces += views.size();
  }
  for (Frame* frame : waiting) {
    frame->launched = true;
    frame->changed = frame->options.strength > 0.f;
  }
  return launch;
}

/* ---- full mode ---- */

void FrameBatcher::locate(Frame& frame, std::vector<FaceDetection> faces) {
  const RestoreOptions& options = frame.options;
  const StageTimer timer(stats_, Stage::Alignment);
  const int size = enhancer_.model_size();
  const int width = frame.image.width, height = frame.image.height;
  faces = select_faces(std::move(faces), width, height, options.max_faces);
  if (StreamTracks& tracks = tracks_[frame.stream]; tracks.options.enabled) {
    // Carried faces may have moved out of the frame, or past max_faces.
    FaceTracker& tracker = tracks.tracker;
    faces = select_faces(frame.track_only ? tracker.carry() : tracker.update(faces), width,
                         height, options.max_faces);
  }
  for (auto& face : faces) {
    if (auto to_crop = usable_alignment(face, size)) {
      frame.to_crop.push_back(*to_crop);
      frame.faces.push_back(face);
    }
  }
  frame.located = true;
  frame.found.reset();
  frame.for_detector = torch::Tensor();
  frame.restored.resize(frame.faces.size());
  if (parser_) frame.masks.resize(frame.faces.size());
  frame.remaining = frame.faces.size();
  if (frame.faces.empty()) return;
  // The reference crops with cv2.warpAffine on 8-bit frames: whole levels.
  auto crops = warp_faces(frame.on_device, frame.to_crop, size).round_();
  crops = denoise(crops, options.denoise);
  for (std::size_t i = 0; i < frame.faces.size(); ++i)
    crops_.push_back({frame.id, i, crops[static_cast<std::int64_t>(i)]});
}

// `forced`: how many of the oldest frames not launched must be located now.
// Faces found are kept with their frames and located in push order
// (locate_in_order): the tracker sees each stream's frames in order.
void FrameBatcher::detect(const Drain& drain, std::size_t forced) {
  std::vector<Frame*> waiting;
  bool due = false;          // a frame waiting for the detector must be located now
  std::size_t position = 0;  // among the frames not launched
  for (auto& frame : frames_) {
    if (frame.launched) continue;
    const bool must = drain.covers(frame) || position++ < forced;
    if (frame.located || frame.found || frame.track_only) continue;
    if (frame.detecting) {
      // The pool's faces: taken as soon as they are there, waited for when due.
      if (!must && !pool_->ready(*frame.detecting)) continue;
      {
        const StageTimer timer(stats_, Stage::DetectionWait);
        frame.found = pool_->take(*frame.detecting);
      }
      frame.detecting.reset();
      continue;
    }
    if (!detector_) {
      frame.found.emplace();
    } else {
      waiting.push_back(&frame);
      due = due || drain.covers(frame);
    }
  }
  // Wait until the frames' faces could fill a batch (a frame has one face or
  // more, as far as anyone can tell before looking).
  if (!waiting.empty() && (due || forced > 0 ||
                           waiting.size() + crops_.size() >= static_cast<std::size_t>(batch_size_))) {
    // Frames of one size go through the detector together, batch_size at most.
    std::size_t start = 0;
    while (start < waiting.size()) {
      std::size_t end = start + 1;
      while (end < waiting.size() && end - start < static_cast<std::size_t>(batch_size_) &&
             waiting[end]->for_detector.sizes() == waiting[start]->for_detector.sizes())
        ++end;
      std::vector<torch::Tensor> group;
      for (std::size_t i = start; i < end; ++i) group.push_back(waiting[i]->for_detector);
      std::vector<std::vector<FaceDetection>> faces;
      {
        const StageTimer timer(stats_, Stage::Detection);
        faces = detector_->detect(torch::stack(group));
      }
      for (std::size_t i = start; i < end; ++i) waiting[i]->found = std::move(faces[i - start]);
      start = end;
    }
  }
  locate_in_order();
}

// Each stream's frames whose faces are known, oldest first, up to the first
// one of that stream whose faces are not.
void FrameBatcher::locate_in_order() {
  std::vector<StreamId> waiting;  // streams held up by a frame still searched
  for (auto& frame : frames_) {
    if (frame.launched || frame.located) continue;
    if (std::find(waiting.begin(), waiting.end(), frame.stream) != waiting.end()) continue;
    if (frame.found)
      locate(frame, std::move(*frame.found));
    else if (frame.track_only)
      locate(frame, {});
    else
      waiting.push_back(frame.stream);
  }
}

// `all`: every crop goes; else full batches, and partial ones while crops of
// frames `drain` covers wait.
std::size_t FrameBatcher::enhance(bool all, const Drain& drain) {
  const auto due = [&] {
    if (all) return !crops_.empty();
    for (const Crop& crop : crops_)
      if (const Frame* frame = find(crop.frame); frame && drain.covers(*frame)) return true;
    return false;
  };
  std::size_t count = 0;
  while (crops_.size() >= static_cast<std::size_t>(batch_size_) || due()) {
    const std::size_t n = std::min(crops_.size(), static_cast<std::size_t>(batch_size_));
    std::vector<torch::Tensor> pixels;
    std::vector<float> amounts;  // per crop: its frame's stream's sharpen
    pixels.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      pixels.push_back(crops_[i].pixels);
      const Frame* frame = find(crops_[i].frame);
      amounts.push_back(frame ? frame->options.sharpen : 0.f);
    }
    torch::Tensor restored;
    {
      const StageTimer timer(stats_, Stage::Network);
      restored = enhancer_.enhance_crops(torch::stack(pixels));
    }
    torch::Tensor masks;
    if (parser_) {
      // The reference parses the network's face (before any sharpening);
      // the masks are paste-back's, and counted there.
      const StageTimer timer(stats_, Stage::PasteBack);
      masks = parser_->paste_masks(restored);
    }
    {
      const StageTimer timer(stats_, Stage::Network);
      if (std::all_of(amounts.begin(), amounts.end(), [&](float a) { return a == amounts[0]; })) {
        restored = sharpen(restored, amounts[0]);
      } else {
        std::vector<torch::Tensor> each;
        for (std::size_t i = 0; i < n; ++i)
          each.push_back(sharpen(restored.slice(0, static_cast<std::int64_t>(i),
                                                static_cast<std::int64_t>(i) + 1),
                                 amounts[i]));
        restored = torch::cat(each, 0);
      }
    }
    ++batches_run_;
    stats_.faces += n;
    for (std::size_t i = 0; i < n; ++i) {
      const Crop& crop = crops_.front();
      if (Frame* frame = find(crop.frame)) {
        frame->restored[crop.face] = restored[static_cast<std::int64_t>(i)];
        if (masks.defined()) frame->masks[crop.face] = masks[static_cast<std::int64_t>(i)];
        --frame->remaining;
      }
      crops_.pop_front();
    }
    count += n;
  }
  return count;
}

// Detection, the network over full batches of faces, then the frames whose
// faces are all back, in order, pasted and launched into their images.
std::optional<FrameBatcher::Launch> FrameBatcher::launch_full(const Drain& drain,
                                                              BatchProgress& progress) {
  const auto start = Clock::now();
  // A stream where faces are rare must not hold frames without bound while
  // a batch waits to fill: batch_size frames waiting (and lookahead more,
  // being detected) is the most, as in aligned mode (and what the latency
  // and allocation queries announce). Then all but the lookahead go.
  std::size_t waiting = 0;
  for (const auto& frame : frames_) waiting += frame.launched ? 0 : 1;
  const auto lookahead = static_cast<std::size_t>(lookahead_);
  const std::size_t forced =
      waiting >= static_cast<std::size_t>(batch_size_) + lookahead ? waiting - lookahead : 0;
  detect(drain, forced);
  progress.faces += enhance(drain.all || forced > 0, drain);

  Launch launch;
  std::vector<StreamId> waiting_streams;  // streams with a frame not ready before
  for (auto& frame : frames_) {
    if (frame.launched) continue;
    const bool behind = std::find(waiting_streams.begin(), waiting_streams.end(),
                                  frame.stream) != waiting_streams.end();
    if (behind) continue;
    if (!frame.located || frame.remaining > 0) {  // a stream's frames leave in its order
      waiting_streams.push_back(frame.stream);
      continue;
    }
    const RestoreOptions& options = frame.options;
    if (!frame.faces.empty() && options.strength > 0.f) {
      const StageTimer timer(stats_, Stage::PasteBack);
      PasteOptions paste;
      paste.strength = options.strength;
      for (const auto& face : frame.faces)
        paste.face_sizes.push_back(std::min(face.width(), face.height()));
      if (!frame.masks.empty()) paste.masks = torch::stack(frame.masks);
      // Only the parts of the frame the faces reach go back into it.
      std::vector<PasteRegion> touched;
      const auto pasted = paste_faces(frame.on_device, torch::stack(frame.restored),
                                      frame.to_crop, paste, nullptr, &touched);
      for (const PasteRegion& r : touched) {
        if (frame.yuv)
          launch.results.add(yuv_region(frame.yuv_planes, frame.on_device, pasted,
                                        frame.yuv->matrix, r.x, r.y, r.width, r.height),
                             *frame.yuv);
        else
          launch.results.add(pasted.slice(1, r.y, r.y + r.height).slice(2, r.x, r.x + r.width),
                             crop_view(frame.image, r.x, r.y, r.width, r.height));
        frame.changed = true;
      }
    }
    frame.launched = true;
    frame.on_device = torch::Tensor();
    frame.yuv_planes = YuvPlanes();
    frame.restored.clear();
    frame.masks.clear();
    launch.frames.push_back(frame.id);
  }
  if (launch.frames.empty()) return std::nullopt;
  launch.results.add_launch_seconds(
      std::chrono::duration<double>(Clock::now() - start).count());
  return launch;
}

/* ---- both ---- */

// The one place where a batch's results reach its frames.
void FrameBatcher::finish(Launch& launch, BatchProgress& progress) {
  {
    const StageTimer timer(stats_, Stage::Results);
    launch.results.finish();
  }
  for (const FrameId id : launch.frames) {
    Frame* frame = find(id);
    if (!frame) continue;
    frame->done = true;
    if (frame->staging.defined() && frame->changed) {  // aligned mode's 4:2:0 frames
      const StageTimer timer(stats_, Stage::Results);
      const YuvView& planes = *frame->yuv;
      write_yuv_region(yuv_region(upload_yuv(planes, torch::kCPU), torch::Tensor(),
                                  frame->staging.permute({2, 0, 1}), planes.matrix, 0, 0,
                                  planes.width, planes.height),
                       planes);
    }
    frame->staging = torch::Tensor();
  }
  if (launch.results.size() > 0) {
    ++progress.finished;
    progress.batch_seconds = std::max(progress.batch_seconds, launch.results.seconds());
  }
}

BatchProgress FrameBatcher::advance(const RestoreOptions& options, bool drain) {
  for (auto& frame : frames_)
    if (!frame.launched) frame.options = options;
  Drain scope;
  scope.any = scope.all = drain;
  return run(scope);
}

BatchProgress FrameBatcher::advance(StreamId stream, const RestoreOptions& options, bool drain) {
  for (auto& frame : frames_)
    if (!frame.launched && frame.stream == stream) frame.options = options;
  Drain scope;
  scope.any = drain;
  scope.stream = stream;
  return run(scope);
}

BatchProgress FrameBatcher::run(const Drain& drain_scope) {
  const bool drain = drain_scope.any;
  torch::InferenceMode inference;
  // Full mode: frames, crops and masks live in host memory on every device.
  const CpuTensorCacheScope cache(mode_ == FaceMode::Full || enhancer_.device().is_cpu());
  BatchProgress progress;
  std::optional<Launch> launched;
  if (mode_ == FaceMode::Aligned) {
    launched = launch_aligned(drain_scope);
    if (launched) progress.faces += launched->results.size();
  } else {
    launched = launch_full(drain_scope, progress);
  }
  if (launched || drain) {
    // The batches in flight are older: they finish first.
    while (!in_flight_.empty()) {
      finish(in_flight_.front(), progress);
      in_flight_.pop_front();
    }
  }
  if (launched) {
    // Frames that nothing runs on have nothing to wait for.
    if (drain || pipeline_depth_ < 2 || launched->results.size() == 0)
      finish(*launched, progress);
    else
      in_flight_.push_back(std::move(*launched));
  }
  note_oldest();
  return progress;
}

std::optional<FinishedFrame> FrameBatcher::pop() {
  if (frames_.empty() || !frames_.front().done) return std::nullopt;
  Frame& frame = frames_.front();
  FinishedFrame out;
  out.id = frame.id;
  out.faces = std::move(frame.faces);
  out.changed = frame.changed;
  frames_.pop_front();
  ++stats_.frames;
  note_oldest();
  return out;
}

bool FrameBatcher::ready(StreamId stream) const {
  for (const auto& frame : frames_)
    if (frame.stream == stream) return frame.done;
  return false;
}

std::optional<FinishedFrame> FrameBatcher::pop(StreamId stream) {
  const auto it = std::find_if(frames_.begin(), frames_.end(),
                               [&](const Frame& f) { return f.stream == stream; });
  if (it == frames_.end() || !it->done) return std::nullopt;
  FinishedFrame out;
  out.id = it->id;
  out.faces = std::move(it->faces);
  out.changed = it->changed;
  frames_.erase(it);
  ++stats_.frames;
  note_oldest();
  return out;
}

PipelineStats FrameBatcher::stats() const {
  PipelineStats stats = stats_;
  stats.batches = batches_run_;
  if (first_push_) stats.wall = std::chrono::duration<double>(Clock::now() - *first_push_).count();
  if (pool_) stats[Stage::Detection] += pool_->busy_seconds();
  return stats;
}

void FrameBatcher::clear() {
  for (const auto& frame : frames_)
    if (frame.detecting) pool_->forget(*frame.detecting);
  frames_.clear();
  crops_.clear();
  in_flight_.clear();
  for (auto& [stream, tracks] : tracks_) reset_tracks(stream);
  note_oldest();
}

void FrameBatcher::set_tracking(const TrackingOptions& tracking, StreamId stream) {
  StreamTracks& tracks = tracks_[stream];
  if (tracks.options.enabled && !tracking.enabled) reset_tracks(stream);
  tracks.options = tracking;
  tracks.tracker.set_options(tracking.tracker);
}

TrackingOptions FrameBatcher::tracking(StreamId stream) const {
  const auto found = tracks_.find(stream);
  return found == tracks_.end() ? TrackingOptions{} : found->second.options;
}

void FrameBatcher::reset_tracks(StreamId stream) {
  StreamTracks& tracks = tracks_[stream];
  tracks.tracker.reset();
  tracks.since_search = 0;
}

}  // namespace gpen

namespace gpen {

void FrameBatcher::clear(StreamId stream) {
  // A batch in flight writes into its frames' images when it finishes:
  // finished now, while those images are still the stream's to release.
  if (std::any_of(frames_.begin(), frames_.end(), [&](const Frame& f) {
        return f.stream == stream && f.launched && !f.done;
      })) {
    BatchProgress ignored;
    while (!in_flight_.empty()) {
      finish(in_flight_.front(), ignored);
      in_flight_.pop_front();
    }
  }
  std::vector<FrameId> dropped;
  for (const auto& frame : frames_)
    if (frame.stream == stream) {
      dropped.push_back(frame.id);
      if (frame.detecting) pool_->forget(*frame.detecting);
    }
  const auto is_dropped = [&](FrameId id) {
    return std::find(dropped.begin(), dropped.end(), id) != dropped.end();
  };
  crops_.erase(std::remove_if(crops_.begin(), crops_.end(),
                              [&](const Crop& c) { return is_dropped(c.frame); }),
               crops_.end());
  frames_.erase(std::remove_if(frames_.begin(), frames_.end(),
                               [&](const Frame& f) { return f.stream == stream; }),
                frames_.end());
  reset_tracks(stream);
  note_oldest();
}

}  // namespace gpen
