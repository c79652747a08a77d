#include "frame_restorer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <torch/torch.h>

#include "cpu_tensor_cache.h"
#include "error.h"
#include "face_detector.h"
#include "face_enhancer.h"
#include "face_filters.h"
#include "paste_back.h"

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

}  // namespace

FrameRestorer::FrameRestorer(FaceEnhancer& enhancer, FaceDetector* detector, int batch_size)
    : enhancer_(enhancer), detector_(detector), batch_size_(std::max(batch_size, 1)) {}

void FrameRestorer::push(std::uint64_t id, const torch::Tensor& rgb,
                         std::optional<std::vector<FaceDetection>> faces) {
  TORCH_CHECK(rgb.dim() == 3 && rgb.size(0) == 3 && rgb.scalar_type() == torch::kByte,
              "FrameRestorer: a frame must be [3, H, W] uint8 RGB, got ", rgb.sizes(), " ",
              rgb.scalar_type());
  Frame frame;
  frame.id = id;
  frame.source = rgb;
  frame.on_device = rgb.to(enhancer_.device());
  frame.found = std::move(faces);
  frames_.push_back(std::move(frame));
}

FrameRestorer::Frame* FrameRestorer::find(std::uint64_t id) {
  for (auto& frame : frames_)
    if (frame.id == id) return &frame;
  return nullptr;
}

void FrameRestorer::locate(Frame& frame, std::vector<FaceDetection> faces,
                           const RestoreOptions& options) {
  const int height = static_cast<int>(frame.source.size(1));
  const int width = static_cast<int>(frame.source.size(2));
  const int size = enhancer_.model_size();
  for (auto& face : select_faces(std::move(faces), width, height, options.max_faces)) {
    if (auto to_crop = usable_alignment(face, size)) {
      frame.to_crop.push_back(*to_crop);
      frame.faces.push_back(face);
    }
  }
  frame.located = true;
  frame.found.reset();
  frame.restored.resize(frame.faces.size());
  frame.remaining = frame.faces.size();
  if (frame.faces.empty()) return;
  // The reference crops with cv2.warpAffine on 8-bit frames: whole levels.
  auto crops = warp_faces(frame.on_device, frame.to_crop, size).round_();
  crops = denoise(crops, options.denoise);
  for (std::size_t i = 0; i < frame.faces.size(); ++i)
    crops_.push_back({frame.id, i, crops[static_cast<std::int64_t>(i)]});
}

void FrameRestorer::detect(const RestoreOptions& options, bool drain) {
  std::vector<Frame*> waiting;
  for (auto& frame : frames_) {
    if (frame.located) continue;
    if (frame.found || !detector_)
      locate(frame, frame.found.value_or(std::vector<FaceDetection>{}), options);
    else
      waiting.push_back(&frame);
  }
  // Wait until the frames' faces could fill a batch (a frame has one face or
  // more, as far as anyone can tell before looking).
  if (waiting.empty() || (!drain && waiting.size() + crops_.size() <
                                        static_cast<std::size_t>(batch_size_)))
    return;
  const bool on_cpu = detector_->device().is_cpu();
  auto picture = [&](const Frame* frame) { return on_cpu ? frame->source : frame->on_device; };
  // Frames of one size go through the detector together, batch_size at most.
  std::size_t start = 0;
  while (start < waiting.size()) {
    std::size_t end = start + 1;
    while (end < waiting.size() && end - start < static_cast<std::size_t>(batch_size_) &&
           waiting[end]->source.sizes() == waiting[start]->source.sizes())
      ++end;
    std::vector<torch::Tensor> group;
    for (std::size_t i = start; i < end; ++i) group.push_back(picture(waiting[i]));
    auto faces = detector_->detect(torch::stack(group));
    for (std::size_t i = start; i < end; ++i)
      locate(*waiting[i], std::move(faces[i - start]), options);
    start = end;
  }
}

std::size_t FrameRestorer::enhance(const RestoreOptions& options, bool drain) {
  std::size_t count = 0;
  while (crops_.size() >= static_cast<std::size_t>(batch_size_) || (drain && !crops_.empty())) {
    const std::size_t n = std::min(crops_.size(), static_cast<std::size_t>(batch_size_));
    std::vector<torch::Tensor> pixels;
    pixels.reserve(n);
    for (std::size_t i = 0; i < n; ++i) pixels.push_back(crops_[i].pixels);
    const auto restored = sharpen(enhancer_.enhance_crops(torch::stack(pixels)), options.sharpen);
    ++batches_run_;
    for (std::size_t i = 0; i < n; ++i) {
      const Crop& crop = crops_.front();
      if (Frame* frame = find(crop.frame_id)) {
        frame->restored[crop.face] = restored[static_cast<std::int64_t>(i)];
        --frame->remaining;
      }
      crops_.pop_front();
    }
    count += n;
  }
  return count;
}

void FrameRestorer::finish(const RestoreOptions& options) {
  while (!frames_.empty() && frames_.front().located && frames_.front().remaining == 0) {
    Frame& frame = frames_.front();
    RestoredFrame done;
    done.id = frame.id;
    done.faces = frame.faces;
    if (!frame.faces.empty() && options.strength > 0.f) {
      PasteOptions paste;
      paste.strength = options.strength;
      for (const auto& face : frame.faces)
        paste.face_sizes.push_back(std::min(face.width(), face.height()));
      done.rgb = paste_faces(frame.on_device, torch::stack(frame.restored), frame.to_crop, paste);
    }
    finished_.push_back(std::move(done));
    frames_.pop_front();
  }
}

std::size_t FrameRestorer::run(const RestoreOptions& options, bool drain) {
  torch::InferenceMode inference;
  const CpuTensorCacheScope cache;  // frames, crops and masks live in host memory on every device
  // A stream where faces are rare must not hold frames without bound while
  // a batch waits to fill: batch_size frames held is the most, as in
  // aligned mode (and what the latency and allocation queries announce).
  const bool frames_full = frames_.size() >= static_cast<std::size_t>(batch_size_);
  detect(options, drain || frames_full);
  const std::size_t count = enhance(options, drain || frames_full);
  finish(options);
  return count;
}

std::optional<RestoredFrame> FrameRestorer::pop() {
  if (finished_.empty()) return std::nullopt;
  RestoredFrame frame = std::move(finished_.front());
  finished_.pop_front();
  return frame;
}

void FrameRestorer::clear() {
  frames_.clear();
  crops_.clear();
  finished_.clear();
}

}  // namespace gpen
