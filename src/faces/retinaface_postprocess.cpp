#include "faces/retinaface_postprocess.h"

#include <algorithm>
#include <array>

#include <torch/torch.h>

namespace gpen {
namespace {

struct PriorLevel {
  std::int64_t step;
  std::array<std::int64_t, 2> min_sizes;
};

constexpr std::array<PriorLevel, 3> kPriorLevels = {
    {{8, {16, 32}}, {16, {64, 128}}, {32, {256, 512}}}};

// ceil(size / step), as PriorBox sizes its feature maps.
std::int64_t ceil_div(std::int64_t size, std::int64_t step) { return (size + step - 1) / step; }

}  // namespace

std::int64_t retinaface_prior_count(std::int64_t height, std::int64_t width) {
  std::int64_t count = 0;
  for (const auto& level : kPriorLevels)
    count += ceil_div(height, level.step) * ceil_div(width, level.step) *
             static_cast<std::int64_t>(level.min_sizes.size());
  return count;
}

torch::Tensor retinaface_priors(std::int64_t height, std::int64_t width) {
  TORCH_CHECK(height > 0 && width > 0, "RetinaFace priors need a positive size, got ", height,
              "x", width);
  auto priors = torch::empty({retinaface_prior_count(height, width), 4}, torch::kFloat);
  auto out = priors.accessor<float, 2>();
  const auto h = static_cast<double>(height);
  const auto w = static_cast<double>(width);
  std::int64_t n = 0;
  // Python computes the anchors in double and torch.Tensor() rounds them to
  // float32 at the end; doing the same keeps the priors bit-identical.
  for (const auto& level : kPriorLevels) {
    const auto step = static_cast<double>(level.step);
    for (std::int64_t i = 0; i < ceil_div(height, level.step); ++i) {
      for (std::int64_t j = 0; j < ceil_div(width, level.step); ++j) {
        for (const auto min_size : level.min_sizes) {
          out[n][0] = static_cast<float>((static_cast<double>(j) + 0.5) * step / w);
          out[n][1] = static_cast<float>((static_cast<double>(i) + 0.5) * step / h);
          out[n][2] = static_cast<float>(static_cast<double>(min_size) / w);
          out[n][3] = static_cast<float>(static_cast<double>(min_size) / h);
          ++n;
        }
      }
    }
  }
  return priors;
}

torch::Tensor decode_boxes(const torch::Tensor& loc, const torch::Tensor& priors) {
  TORCH_CHECK(loc.dim() == 2 && loc.size(1) == 4 && priors.sizes() == loc.sizes(),
              "decode_boxes needs loc and priors of shape [N, 4], got ", loc.sizes(), " and ",
              priors.sizes());
  const auto prior_centers = priors.slice(1, 0, 2);
  const auto prior_sizes = priors.slice(1, 2, 4);
  // The reference's operation order, so that float32 results match bit for bit.
  const auto centers = prior_centers + loc.slice(1, 0, 2) * kRetinaFaceCenterVariance * prior_sizes;
  const auto sizes = prior_sizes * torch::exp(loc.slice(1, 2, 4) * kRetinaFaceSizeVariance);
  const auto top_left = centers - sizes / 2;
  return torch::cat({top_left, sizes + top_left}, 1);
}

torch::Tensor decode_landmarks(const torch::Tensor& landms, const torch::Tensor& priors) {
  TORCH_CHECK(landms.dim() == 2 && landms.size(1) == 10 && priors.dim() == 2 &&
                  priors.size(1) == 4 && priors.size(0) == landms.size(0),
              "decode_landmarks needs landms [N, 10] and priors [N, 4], got ", landms.sizes(),
              " and ", priors.sizes());
  const auto n = landms.size(0);
  const auto prior_centers = priors.slice(1, 0, 2).unsqueeze(1);
  const auto prior_sizes = priors.slice(1, 2, 4).unsqueeze(1);
  const auto points =
      prior_centers + landms.reshape({n, 5, 2}) * kRetinaFaceCenterVariance * prior_sizes;
  return points.reshape({n, 10});
}

std::vector<std::int64_t> retinaface_nms(const torch::Tensor& boxes, float iou_threshold) {
  TORCH_CHECK(boxes.dim() == 2 && boxes.size(1) == 4, "NMS needs boxes [N, 4], got ",
              boxes.sizes());
  const auto cpu = boxes.to(torch::kCPU, torch::kFloat).contiguous();
  const auto b = cpu.accessor<float, 2>();
  const auto n = cpu.size(0);
  std::vector<float> areas(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    areas[i] = (b[i][2] - b[i][0] + 1) * (b[i][3] - b[i][1] + 1);

  // Greedy: each kept box removes the later ones that overlap it too much;
  // the same arithmetic as py_cpu_nms in float32.
  std::vector<bool> removed(static_cast<std::size_t>(n), false);
  std::vector<std::int64_t> keep;
  for (std::int64_t i = 0; i < n; ++i) {
    if (removed[i]) continue;
    keep.push_back(i);
    for (std::int64_t j = i + 1; j < n; ++j) {
      if (removed[j]) continue;
      const float w = std::max(0.f, std::min(b[i][2], b[j][2]) - std::max(b[i][0], b[j][0]) + 1);
      const float h = std::max(0.f, std::min(b[i][3], b[j][3]) - std::max(b[i][1], b[j][1]) + 1);
      const float inter = w * h;
      const float iou = inter / (areas[i] + areas[j] - inter);
      if (!(iou <= iou_threshold)) removed[j] = true;
    }
  }
  return keep;
}

RetinaFaceDetections postprocess_retinaface(const torch::Tensor& loc, const torch::Tensor& conf,
                                            const torch::Tensor& landms, std::int64_t height,
                                            std::int64_t width,
                                            const RetinaFacePostprocessOptions& options) {
  const auto n = retinaface_prior_count(height, width);
  TORCH_CHECK(loc.dim() == 2 && loc.size(0) == n && loc.size(1) == 4 && conf.dim() == 2 &&
                  conf.size(0) == n && conf.size(1) == 2 && landms.dim() == 2 &&
                  landms.size(0) == n && landms.size(1) == 10,
              "RetinaFace heads for a ", height, "x", width, " input must be [", n, ", 4], [", n,
              ", 2] and [", n, ", 10], got ", loc.sizes(), ", ", conf.sizes(), " and ",
              landms.sizes());
  torch::NoGradGuard no_grad;

  // Threshold on the device: only the few candidates are copied and decoded.
  const auto face_scores = conf.select(1, 1);
  const auto selected = torch::nonzero(face_scores > options.confidence_threshold).squeeze(1);
  const auto to_cpu = [&](const torch::Tensor& t) {
    return t.index_select(0, selected).to(torch::kCPU, torch::kFloat);
  };
  auto scores = to_cpu(face_scores);
  const auto priors = retinaface_priors(height, width).index_select(0, selected.to(torch::kCPU));
  const auto w = static_cast<float>(width);
  const auto h = static_cast<float>(height);
  auto boxes = decode_boxes(to_cpu(loc), priors) * torch::tensor({w, h, w, h});
  auto points = decode_landmarks(to_cpu(landms), priors) *
                torch::tensor({w, h, w, h, w, h, w, h, w, h});

  // Descending score; a stable sort keeps ties in prior order.
  auto order = std::get<1>(torch::sort(scores, /*stable=*/true, /*dim=*/0, /*descending=*/true));
  order = order.slice(0, 0, options.top_k);
  boxes = boxes.index_select(0, order);
  points = points.index_select(0, order);
  scores = scores.index_select(0, order);

  auto keep = retinaface_nms(boxes, options.nms_threshold);
  if (static_cast<std::int64_t>(keep.size()) > options.keep_top_k)
    keep.resize(static_cast<std::size_t>(options.keep_top_k));
  const auto kept = torch::tensor(keep, torch::kLong);
  RetinaFaceDetections out;
  out.dets = torch::cat({boxes, scores.unsqueeze(1)}, 1).index_select(0, kept).contiguous();
  out.landmarks = points.index_select(0, kept).contiguous();
  return out;
}

std::vector<FaceDetection> to_face_detections(const RetinaFaceDetections& detections,
                                              double scale) {
  const auto dets = detections.dets.to(torch::kCPU, torch::kFloat).contiguous();
  const auto points = detections.landmarks.to(torch::kCPU, torch::kFloat).contiguous();
  const auto d = dets.accessor<float, 2>();
  const auto p = points.accessor<float, 2>();
  // float32 division by the float32 factor, as numpy's `dets / ss` computes it.
  const auto s = static_cast<float>(scale);
  std::vector<FaceDetection> faces(static_cast<std::size_t>(dets.size(0)));
  for (std::int64_t i = 0; i < dets.size(0); ++i) {
    auto& face = faces[i];
    face.x1 = d[i][0] / s;
    face.y1 = d[i][1] / s;
    face.x2 = d[i][2] / s;
    face.y2 = d[i][3] / s;
    face.score = d[i][4];
    for (std::size_t k = 0; k < face.landmarks.size(); ++k)
      face.landmarks[k] = {p[i][2 * k] / s, p[i][2 * k + 1] / s};
    face.has_landmarks = true;
  }
  return faces;
}

}  // namespace gpen
