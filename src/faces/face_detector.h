// One interface over the face detectors a frame can go through: RetinaFace
// (GPEN's own, batched, on the network's device) and the Haar-cascade
// fallback (CPU), chosen from what the user has at hand.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "faces/face.h"

namespace gpen {

enum class DetectorKind {
  Auto,        // RetinaFace when a model is given, else the cascade
  RetinaFace,  // needs model_path
  Cascade,     // OpenCV's Haar cascades from opencv-data
};

// "auto", "retinaface", "cascade"; throws Error on anything else.
DetectorKind parse_detector_kind(const std::string& text);
const char* detector_kind_name(DetectorKind kind);

struct DetectorOptions {
  DetectorKind kind = DetectorKind::Auto;
  std::string model_path;              // RetinaFace checkpoint (RetinaFace-R50.pth)
  float threshold = 0.9f;              // RetinaFace: keep faces scoring above this
  int resize_limit = 1500;             // frames whose long side exceeds this...
  int resize_target = 1000;            // ...are detected at this long side, as the reference
  std::string cascade_directory;       // empty: CascadeDetector::default_directory()
};

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;

  // Faces of each frame of `frames` ([B, 3, H, W] uint8 RGB, any device), in
  // frame pixels, best first (RetinaFace: by score; cascade: largest first).
  virtual std::vector<std::vector<FaceDetection>> detect(const torch::Tensor& frames) = 0;

  // Where detect() wants its frames (it accepts any, but copies them there).
  virtual torch::Device device() const = 0;

  // What runs, for logs: "RetinaFace ResNet50 on cuda:0", "Haar cascade (CPU)".
  virtual std::string describe() const = 0;
};

// Builds the detector the options ask for. RetinaFace runs on `device`; the
// cascade on the CPU. Throws Error (CheckpointError, ModelError) naming the
// file and the reason when a model or cascade cannot be loaded.
std::unique_ptr<FaceDetector> make_face_detector(const DetectorOptions& options,
                                                 torch::Device device);

// The faces worth restoring, largest first: every face gets its landmarks
// (estimated from its whole box where the detector gave none or gave
// non-finite ones; has_landmarks is then true), boxes are clipped to the
// W x H frame, those left with no area (or not finite) are dropped, and the
// `max_faces` largest are kept (0: all).
std::vector<FaceDetection> select_faces(std::vector<FaceDetection> faces, int width, int height,
                                        int max_faces);

}  // namespace gpen
