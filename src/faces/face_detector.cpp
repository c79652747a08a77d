#include "faces/face_detector.h"

#include <algorithm>
#include <cmath>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "faces/cascade_detector.h"
#include "faces/face_align.h"
#include "faces/retinaface.h"
#include "runtime/error.h"

namespace gpen {
namespace {

class RetinaFaceDetector final : public FaceDetector {
 public:
  RetinaFaceDetector(const DetectorOptions& options, torch::Device device)
      : options_(options), model_(RetinaFace::load(options.model_path, device)) {}

  std::vector<std::vector<FaceDetection>> detect(const torch::Tensor& frames) override {
    return model_.detect(frames, options_.threshold, options_.resize_limit,
                         options_.resize_target);
  }

  torch::Device device() const override { return model_.device(); }

  std::string describe() const override {
    return std::string("RetinaFace ") + to_string(model_.backbone()) + " on " +
           model_.device().str();
  }

 private:
  DetectorOptions options_;
  RetinaFace model_;
};

// Faces found in a copy of the frame scaled by `scale`, back in frame pixels.
void scale_back(std::vector<FaceDetection>& faces, double scale) {
  const auto back = static_cast<float>(1.0 / scale);
  for (auto& face : faces) {
    face.x1 *= back, face.y1 *= back, face.x2 *= back, face.y2 *= back;
    for (auto& p : face.landmarks) p.x *= back, p.y *= back;
  }
}

class CascadeFaceDetector final : public FaceDetector {
 public:
  explicit CascadeFaceDetector(const DetectorOptions& options)
      : options_(options),
        detector_(options.cascade_directory.empty() ? CascadeDetector::default_directory()
                                                    : options.cascade_directory) {}

  // As RetinaFace (and the reference) does, a frame whose long side is over
  // resize_limit is searched at resize_target: the search costs about the
  // frame's area. There the pyramid is coarser and the smallest face larger
  // (downscaled_search). Frames are made gray before they are scaled: a
  // third of the bytes.
  std::vector<std::vector<FaceDetection>> detect(const torch::Tensor& frames) override {
    TORCH_CHECK(frames.dim() == 4 && frames.size(1) == 3 && frames.scalar_type() == torch::kByte,
                "face detection needs [B, 3, H, W] uint8 RGB frames, got ", frames.sizes());
    std::vector<std::vector<FaceDetection>> faces;
    for (std::int64_t b = 0; b < frames.size(0); ++b) {
      // OpenCV wants interleaved pixels; the tensor is planar.
      const auto hwc = frames[b].permute({1, 2, 0}).to(torch::kCPU).contiguous();
      const cv::Mat image(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3,
                          hwc.data_ptr());
      const int long_side = std::max(image.cols, image.rows);
      if (long_side <= options_.resize_limit) {
        faces.push_back(detector_.detect(image));
        continue;
      }
      const double scale = static_cast<double>(options_.resize_target) / long_side;
      cv::Mat gray, small;
      cv::cvtColor(image, gray, cv::COLOR_RGB2GRAY);
      cv::resize(gray, small, cv::Size(), scale, scale, cv::INTER_AREA);
      auto found = detector_.detect(small, downscaled_search(detector_.options()));
      scale_back(found, scale);
      faces.push_back(std::move(found));
    }
    return faces;
  }

  torch::Device device() const override { return torch::kCPU; }
  std::string describe() const override { return "Haar cascade (CPU)"; }

 private:
  DetectorOptions options_;
  CascadeDetector detector_;
};

}  // namespace

DetectorKind parse_detector_kind(const std::string& text) {
  if (text == "auto") return DetectorKind::Auto;
  if (text == "retinaface") return DetectorKind::RetinaFace;
  if (text == "cascade") return DetectorKind::Cascade;
  throw Error("unknown detector '" + text + "' (expected auto, retinaface or cascade)");
}

const char* detector_kind_name(DetectorKind kind) {
  switch (kind) {
    case DetectorKind::Auto: return "auto";
    case DetectorKind::RetinaFace: return "retinaface";
    case DetectorKind::Cascade: return "cascade";
  }
  return "?";
}

std::unique_ptr<FaceDetector> make_face_detector(const DetectorOptions& options,
                                                 torch::Device device) {
  DetectorKind kind = options.kind;
  if (kind == DetectorKind::Auto)
    kind = options.model_path.empty() ? DetectorKind::Cascade : DetectorKind::RetinaFace;
  if (kind == DetectorKind::RetinaFace) {
    if (options.model_path.empty())
      throw Error("the RetinaFace detector needs a model file (RetinaFace-R50.pth)");
    return std::make_unique<RetinaFaceDetector>(options, device);
  }
  return std::make_unique<CascadeFaceDetector>(options);
}

std::vector<FaceDetection> select_faces(std::vector<FaceDetection> faces, int width, int height,
                                        int max_faces) {
  const auto w = static_cast<float>(width), h = static_cast<float>(height);
  std::vector<FaceDetection> kept;
  kept.reserve(faces.size());
  for (auto face : faces) {
    if (!std::isfinite(face.x1) || !std::isfinite(face.y1) || !std::isfinite(face.x2) ||
        !std::isfinite(face.y2))
      continue;
    const bool finite_landmarks =
        std::all_of(face.landmarks.begin(), face.landmarks.end(),
                    [](const Point& p) { return std::isfinite(p.x) && std::isfinite(p.y); });
    // Landmarks come from the whole box, before clipping: a face cut by the
    // frame's edge is still aligned by where its eyes are.
    if (!face.has_landmarks || !finite_landmarks) face.landmarks = estimate_landmarks(face);
    face.has_landmarks = true;
    face.x1 = std::clamp(face.x1, 0.f, w);
    face.x2 = std::clamp(face.x2, 0.f, w);
    face.y1 = std::clamp(face.y1, 0.f, h);
    face.y2 = std::clamp(face.y2, 0.f, h);
    if (face.width() <= 0.f || face.height() <= 0.f) continue;
    kept.push_back(face);
  }
  std::stable_sort(kept.begin(), kept.end(), [](const FaceDetection& a, const FaceDetection& b) {
    return a.width() * a.height() > b.width() * b.height();
  });
  if (max_faces > 0 && kept.size() > static_cast<std::size_t>(max_faces)) kept.resize(max_faces);
  return kept;
}

}  // namespace gpen
