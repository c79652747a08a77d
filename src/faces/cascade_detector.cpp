#include "faces/cascade_detector.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <utility>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "faces/face_align.h"
#include "runtime/error.h"

namespace gpen {
namespace {

constexpr const char* kFaceCascade = "haarcascade_frontalface_default.xml";
constexpr const char* kEyeCascade = "haarcascade_eye.xml";

// Eyes are searched in the top of the face box, upscaled so that an eye is
// well above the eye cascade's 20 px window even in a 30 px face.
constexpr double kEyeSearchHeight = 0.6;
constexpr int kEyeSearchWidth = 160;

cv::CascadeClassifier load_cascade(const std::string& directory, const char* name) {
  const std::string path = (std::filesystem::path(directory) / name).string();
  if (!std::filesystem::is_regular_file(path))
    throw Error("face detector: cascade file " + path +
                " is missing (OpenCV's Haar cascades come with the opencv-data package)");
  cv::CascadeClassifier cascade;
  if (!cascade.load(path) || cascade.empty())
    throw Error("face detector: cascade file " + path + " could not be loaded");
  return cascade;
}

cv::Mat to_gray(const cv::Mat& image) {
  if (image.empty() || image.depth() != CV_8U)
    throw Error("face detector: expected a non-empty 8-bit image");
  cv::Mat gray;
  switch (image.channels()) {
    case 1: return image;
    case 3: cv::cvtColor(image, gray, cv::COLOR_RGB2GRAY); return gray;
    case 4: cv::cvtColor(image, gray, cv::COLOR_RGBA2GRAY); return gray;
    default:
      throw Error("face detector: expected 1, 3 or 4 channels, got " +
                  std::to_string(image.channels()));
  }
}

// Overlap as a fraction of the smaller box: catches a small box inside a
// big one, which intersection over union would let through.
double overlap(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  return inter / std::max(1, std::min(a.area(), b.area()));
}

// Keeps, of boxes that overlap, the one the most neighbours voted for.
std::vector<cv::Rect> drop_duplicates(const std::vector<cv::Rect>& boxes,
                                      const std::vector<int>& votes, double max_overlap) {
  std::vector<std::size_t> order(boxes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return votes[a] > votes[b]; });
  std::vector<cv::Rect> kept;
  for (const std::size_t i : order) {
    const bool duplicate = std::any_of(kept.begin(), kept.end(), [&](const cv::Rect& k) {
      return overlap(k, boxes[i]) > max_overlap;
    });
    if (!duplicate) kept.push_back(boxes[i]);
  }
  return kept;
}

Point centre_of(const cv::Rect& r, double scale, const cv::Point& origin) {
  return {static_cast<float>(origin.x + (r.x + r.width / 2.0) / scale),
          static_cast<float>(origin.y + (r.y + r.height / 2.0) / scale)};
}

}  // namespace

struct CascadeDetector::Impl {
  CascadeOptions options;
  cv::CascadeClassifier faces;
  cv::CascadeClassifier eyes;

  std::optional<std::pair<Point, Point>> find_eyes(const cv::Mat& gray, const cv::Rect& face);
};

// The two eye centres in frame pixels, when the eye cascade finds a
// plausible pair in the upper half of the face: one on each side of the
// box's centre line, a sensible distance apart and roughly level. Of several
// pairs, the one nearest where estimate_landmarks would put the eyes.
std::optional<std::pair<Point, Point>> CascadeDetector::Impl::find_eyes(const cv::Mat& gray,
                                                                        const cv::Rect& face) {
  const cv::Rect search(face.x, face.y, face.width,
                        static_cast<int>(std::lround(face.height * kEyeSearchHeight)));
  const double scale = std::max(1.0, static_cast<double>(kEyeSearchWidth) / face.width);
  cv::Mat region;
  cv::resize(gray(search & cv::Rect(0, 0, gray.cols, gray.rows)), region, cv::Size(), scale,
             scale, cv::INTER_LINEAR);
  const int width = region.cols;
  std::vector<cv::Rect> found;
  eyes.detectMultiScale(region, found, 1.1, 3, 0, cv::Size(width / 8, width / 8),
                        cv::Size(width / 2, width / 2));

  const float w = static_cast<float>(face.width), h = static_cast<float>(face.height);
  const float mid_x = face.x + w / 2, mid_y = face.y + h / 2;
  const float expected_y = face.y + kBoxEyeHeight * h, expected_half = kBoxEyeDistance * w / 2;
  std::vector<Point> left, right;
  for (const auto& r : found) {
    const Point c = centre_of(r, scale, search.tl());
    if (c.y >= mid_y) continue;
    (c.x < mid_x ? left : right).push_back(c);
  }
  std::optional<std::pair<Point, Point>> best;
  float best_error = std::numeric_limits<float>::max();
  for (const auto& l : left) {
    for (const auto& r : right) {
      const float dx = r.x - l.x, dy = r.y - l.y;
      if (dx < 0.25f * w || dx > 0.65f * w || std::abs(dy) > 0.25f * dx) continue;
      const float error = std::hypot(l.x - (mid_x - expected_half), l.y - expected_y) +
                          std::hypot(r.x - (mid_x + expected_half), r.y - expected_y);
      if (error < best_error) best_error = error, best = std::make_pair(l, r);
    }
  }
  return best;
}

std::string CascadeDetector::default_directory() {
  const char* configured = std::getenv("GPEN_CASCADE_DIR");
  return configured && *configured ? configured : kDefaultDirectory;
}

CascadeDetector::CascadeDetector(const std::string& directory, const CascadeOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->faces = load_cascade(directory, kFaceCascade);
  impl_->eyes = load_cascade(directory, kEyeCascade);
}

CascadeDetector::~CascadeDetector() = default;
CascadeDetector::CascadeDetector(CascadeDetector&&) noexcept = default;
CascadeDetector& CascadeDetector::operator=(CascadeDetector&&) noexcept = default;

const CascadeOptions& CascadeDetector::options() const { return impl_->options; }

CascadeOptions downscaled_search(CascadeOptions options) {
  options.scale_factor = std::max(options.scale_factor, 1.2);
  options.min_face_size = std::max(options.min_face_size, 32);
  return options;
}

std::vector<FaceDetection> CascadeDetector::detect(const cv::Mat& rgb_or_gray) {
  return detect(rgb_or_gray, impl_->options);
}

std::vector<FaceDetection> CascadeDetector::detect(const cv::Mat& rgb_or_gray,
                                                   const CascadeOptions& o) {
  const cv::Mat gray = to_gray(rgb_or_gray);
  std::vector<cv::Rect> boxes;
  std::vector<int> votes;
  impl_->faces.detectMultiScale(gray, boxes, votes, o.scale_factor, o.min_neighbors, 0,
                                cv::Size(o.min_face_size, o.min_face_size));
  boxes = drop_duplicates(boxes, votes, o.duplicate_overlap);
  std::stable_sort(boxes.begin(), boxes.end(),
                   [](const cv::Rect& a, const cv::Rect& b) { return a.area() > b.area(); });

  std::vector<FaceDetection> faces;
  faces.reserve(boxes.size());
  for (const auto& box : boxes) {
    FaceDetection face;
    face.x1 = static_cast<float>(box.x);
    face.y1 = static_cast<float>(box.y);
    face.x2 = static_cast<float>(box.x + box.width);
    face.y2 = static_cast<float>(box.y + box.height);
    face.score = 1.f;
    const auto eyes = o.find_eyes ? impl_->find_eyes(gray, box) : std::nullopt;
    face.has_landmarks = eyes.has_value();
    face.landmarks = eyes ? landmarks_from_eyes(eyes->first, eyes->second)
                          : estimate_landmarks(face);
    faces.push_back(face);
  }
  return faces;
}

}  // namespace gpen
