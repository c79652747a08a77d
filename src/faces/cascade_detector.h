// The fallback face detector for when no RetinaFace weights are at hand:
// OpenCV's Haar cascades (opencv-data), CPU only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faces/face.h"

namespace gpen {

// Tuned on astronaut.png (one face) and the 1927 Solvay photograph (29 faces
// of 40-65 px: the defaults find all of them and one false positive).
struct CascadeOptions {
  double scale_factor = 1.1;  // image pyramid step
  int min_neighbors = 5;      // overlapping hits needed to keep a face
  int min_face_size = 24;     // px; the cascade's own window is 24 px
  // A face overlapping a face with more hits by more than this fraction of
  // the smaller box is a duplicate, and dropped.
  double duplicate_overlap = 0.3;
  bool find_eyes = true;      // look for eyes to place the landmarks
};

// The search in a frame scaled down for detection (detection-max-size): a
// coarser pyramid and a window of 32 px there (61 px in a 1920 px frame
// searched at 1000), for faces large enough for GPEN to restore. On the
// 1080p portraits of scripts/make-portraits.sh: 94 ms a frame instead of
// 176, 167 faces found instead of 173.
CascadeOptions downscaled_search(CascadeOptions options);

class CascadeDetector {
 public:
  static constexpr const char* kDefaultDirectory = "/usr/share/opencv4/haarcascades";
  // $GPEN_CASCADE_DIR when set (machines without Debian's opencv-data, e.g.
  // a GPU box with the package unpacked elsewhere), else kDefaultDirectory.
  static std::string default_directory();

  // Loads haarcascade_frontalface_default.xml and haarcascade_eye.xml from
  // `directory`. Throws gpen::Error naming the file that is missing or does
  // not load.
  explicit CascadeDetector(const std::string& directory = default_directory(),
                           const CascadeOptions& options = {});
  ~CascadeDetector();
  CascadeDetector(CascadeDetector&&) noexcept;
  CascadeDetector& operator=(CascadeDetector&&) noexcept;

  // Faces in an 8-bit image: 1 channel (gray), 3 (RGB) or 4 (RGBA), largest
  // box first. Landmarks come from the eyes when two are found in the upper
  // half of the face (has_landmarks true; nose and mouth at the template's
  // proportions), else from estimate_landmarks(box) (has_landmarks false).
  // The cascade gives no confidence: every score is 1. Not thread-safe (one
  // detector per thread). Throws gpen::Error on an unsupported image.
  std::vector<FaceDetection> detect(const cv::Mat& rgb_or_gray);
  // The same with other search settings (the cascades are the loaded ones).
  std::vector<FaceDetection> detect(const cv::Mat& rgb_or_gray, const CascadeOptions& search);

  const CascadeOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpen
