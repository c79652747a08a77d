// RetinaFace's post-processing, without any network: the anchors (PriorBox),
// decoding of the box and landmark regressions, and the greedy NMS of
// py_cpu_nms, as Pytorch_Retinaface and GPEN's retinaface_detection.py do it.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "faces/face.h"

namespace gpen {

// Variances of the box encoding (cfg_mnet and cfg_re50 share them).
inline constexpr float kRetinaFaceCenterVariance = 0.1f;
inline constexpr float kRetinaFaceSizeVariance = 0.2f;

// PriorBox with min_sizes [[16, 32], [64, 128], [256, 512]], steps [8, 16, 32]
// and no clipping, for a network input of height x width pixels: [N, 4] float32
// on the CPU, rows (cx, cy, w, h) normalised by the input size, ordered by level,
// then row, then column, then min_size -- the order of the network's heads.
torch::Tensor retinaface_priors(std::int64_t height, std::int64_t width);

// The number of rows retinaface_priors(height, width) has.
std::int64_t retinaface_prior_count(std::int64_t height, std::int64_t width);

// decode(): loc [N, 4] and priors [N, 4] -> boxes [N, 4] (x1, y1, x2, y2),
// normalised like the priors. Any float dtype and device (both the same).
torch::Tensor decode_boxes(const torch::Tensor& loc, const torch::Tensor& priors);

// decode_landm(): landms [N, 10] -> [N, 10] (x1, y1, ..., x5, y5), normalised.
torch::Tensor decode_landmarks(const torch::Tensor& landms, const torch::Tensor& priors);

// py_cpu_nms: greedy NMS over boxes [N, 4] float32 (x1, y1, x2, y2 in pixels),
// taken in the order given (the caller sorts them by descending score), with
// areas counted as (x2 - x1 + 1) * (y2 - y1 + 1). A box is dropped when its
// IoU with a kept one is above `iou_threshold`. Returns the kept row indices,
// in order.
std::vector<std::int64_t> retinaface_nms(const torch::Tensor& boxes, float iou_threshold);

struct RetinaFacePostprocessOptions {
  float confidence_threshold = 0.9f;  // strict: score > threshold
  float nms_threshold = 0.4f;
  std::int64_t top_k = 5000;       // candidates kept before NMS
  std::int64_t keep_top_k = 750;   // detections kept after NMS
};

// Detections of one frame, in the pixels of the network input.
struct RetinaFaceDetections {
  torch::Tensor dets;       // [K, 5] float32 CPU: x1, y1, x2, y2, score
  torch::Tensor landmarks;  // [K, 10] float32 CPU: x1, y1, ..., x5, y5

  std::int64_t size() const { return dets.size(0); }
};

// One frame's raw heads (loc [N, 4], conf [N, 2] softmaxed, landms [N, 10], on
// any device) for a network input of height x width pixels -> thresholded,
// decoded, NMS-filtered detections sorted by descending score, as the
// reference's detect() returns them before its final division by the resize
// factor. Only the candidates above the threshold leave the device.
RetinaFaceDetections postprocess_retinaface(const torch::Tensor& loc, const torch::Tensor& conf,
                                            const torch::Tensor& landms, std::int64_t height,
                                            std::int64_t width,
                                            const RetinaFacePostprocessOptions& options = {});

// Detections -> FaceDetection, dividing coordinates (not scores) by `scale`:
// the factor the frame was resized by before detection.
std::vector<FaceDetection> to_face_detections(const RetinaFaceDetections& detections,
                                              double scale = 1.0);

}  // namespace gpen
