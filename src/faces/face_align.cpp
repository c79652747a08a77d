#include "faces/face_align.h"

#include <cmath>
#include <string>

#include <torch/torch.h>

#include "runtime/error.h"

namespace gpen {
namespace {

namespace F = torch::nn::functional;

// GPEN's reference points as fractions of the crop side: the 96x112
// ArcFace points made square and padded by 0.25 on each side, as
// get_reference_facial_points((512, 512), 0.25, (0, 0), True) gives them.
constexpr double kTemplate[5][2] = {
    {0.39461071, 0.47438274}, {0.60435595, 0.47322262}, {0.50015000, 0.59367025},
    {0.41398394, 0.71646132}, {0.58767798, 0.71550060}};

// Pixel coordinates of a w x h image -> grid_sample's normalised coordinates
// with align_corners=false (pixel centres at -1 + (2i + 1) / w).
Affine to_normalised(int width, int height) {
  return Affine{{2.0 / width, 0.0, 1.0 / width - 1.0, 0.0, 2.0 / height, 1.0 / height - 1.0}};
}

Affine from_normalised(int width, int height) {
  return Affine{{width / 2.0, 0.0, (width - 1) / 2.0, 0.0, height / 2.0, (height - 1) / 2.0}};
}

// affine_grid's theta for one dst -> src pixel map.
torch::Tensor theta_of(const Affine& dst_to_src, int src_width, int src_height, int dst_width,
                       int dst_height) {
  const Affine theta = to_normalised(src_width, src_height) * dst_to_src *
                       from_normalised(dst_width, dst_height);
  return torch::tensor(std::vector<double>(theta.m.begin(), theta.m.end()), torch::kDouble)
      .view({2, 3});
}

torch::Tensor sample(const torch::Tensor& input, const torch::Tensor& thetas, int out_height,
                     int out_width) {
  const auto batch = thetas.size(0);
  const auto grid = F::affine_grid(thetas.to(input.device(), input.scalar_type()),
                                   {batch, input.size(1), out_height, out_width},
                                   /*align_corners=*/false);
  return F::grid_sample(input, grid,
                        F::GridSampleFuncOptions()
                            .mode(torch::kBilinear)
                            .padding_mode(torch::kZeros)
                            .align_corners(false));
}

}  // namespace

Point Affine::apply(Point p) const {
  return {static_cast<float>(m[0] * p.x + m[1] * p.y + m[2]),
          static_cast<float>(m[3] * p.x + m[4] * p.y + m[5])};
}

double Affine::scale() const { return std::sqrt(std::abs(m[0] * m[4] - m[1] * m[3])); }

Affine operator*(const Affine& a, const Affine& b) {
  const auto& p = a.m;
  const auto& q = b.m;
  return Affine{{p[0] * q[0] + p[1] * q[3], p[0] * q[1] + p[1] * q[4],
                 p[0] * q[2] + p[1] * q[5] + p[2], p[3] * q[0] + p[4] * q[3],
                 p[3] * q[1] + p[4] * q[4], p[3] * q[2] + p[4] * q[5] + p[5]}};
}

Affine invert_affine(const Affine& a) {
  const auto& m = a.m;
  const double det = m[0] * m[4] - m[1] * m[3];
  if (!std::isfinite(det) || std::abs(det) < 1e-12)
    throw Error("invert_affine: the matrix is singular (determinant " + std::to_string(det) + ")");
  const double i0 = m[4] / det, i1 = -m[1] / det, i3 = -m[3] / det, i4 = m[0] / det;
  return Affine{{i0, i1, -(i0 * m[2] + i1 * m[5]), i3, i4, -(i3 * m[2] + i4 * m[5])}};
}

Landmarks template_landmarks(int size) {
  Landmarks points;
  for (int i = 0; i < 5; ++i)
    points[i] = {static_cast<float>(kTemplate[i][0] * size),
                 static_cast<float>(kTemplate[i][1] * size)};
  return points;
}

Affine similarity_transform(const Landmarks& from, const Landmarks& to) {
  // In 2-D a similarity without reflection is multiplication by a complex
  // number z = a + ib; least squares over centred points gives
  // z = sum(conj(p) q) / sum(|p|^2), which is Umeyama's estimate with its
  // det < 0 correction (the reflection is never chosen).
  double fx = 0, fy = 0, tx = 0, ty = 0;
  for (int i = 0; i < 5; ++i) {
    fx += from[i].x, fy += from[i].y, tx += to[i].x, ty += to[i].y;
  }
  fx /= 5, fy /= 5, tx /= 5, ty /= 5;
  double norm = 0, re = 0, im = 0;
  for (int i = 0; i < 5; ++i) {
    const double px = from[i].x - fx, py = from[i].y - fy;
    const double qx = to[i].x - tx, qy = to[i].y - ty;
    norm += px * px + py * py;
    re += px * qx + py * qy;
    im += px * qy - py * qx;
  }
  if (!std::isfinite(norm) || !std::isfinite(re) || !std::isfinite(im) || norm <= 1e-12)
    throw Error("similarity_transform: the source landmarks are degenerate (coincident or not "
                "finite)");
  const double a = re / norm, b = im / norm;
  return Affine{{a, -b, tx - (a * fx - b * fy), b, a, ty - (b * fx + a * fy)}};
}

Landmarks landmarks_from_eyes(Point left_eye, Point right_eye) {
  // The similarity z -> a z + c (complex) taking the template's eyes onto
  // the given ones, applied to all five template points.
  const Landmarks t = template_landmarks(1);
  const double tx = t[1].x - t[0].x, ty = t[1].y - t[0].y;
  const double ex = right_eye.x - left_eye.x, ey = right_eye.y - left_eye.y;
  const double norm = tx * tx + ty * ty;
  const double re = (ex * tx + ey * ty) / norm, im = (ey * tx - ex * ty) / norm;
  Landmarks points;
  for (int i = 0; i < 5; ++i) {
    const double px = t[i].x - t[0].x, py = t[i].y - t[0].y;
    points[i] = {static_cast<float>(left_eye.x + re * px - im * py),
                 static_cast<float>(left_eye.y + im * px + re * py)};
  }
  return points;
}

Landmarks estimate_landmarks(float x1, float y1, float x2, float y2) {
  const float width = x2 - x1, height = y2 - y1;
  const float cx = x1 + width / 2, eye_y = y1 + kBoxEyeHeight * height;
  const float half = kBoxEyeDistance * width / 2;
  return landmarks_from_eyes({cx - half, eye_y}, {cx + half, eye_y});
}

Landmarks estimate_landmarks(const FaceDetection& box) {
  return estimate_landmarks(box.x1, box.y1, box.x2, box.y2);
}

Landmarks face_landmarks(const FaceDetection& face) {
  return face.has_landmarks ? face.landmarks : estimate_landmarks(face);
}

Affine alignment_transform(const FaceDetection& face, int size) {
  return similarity_transform(face_landmarks(face), template_landmarks(size));
}

torch::Tensor warp_affine(const torch::Tensor& input, const Affine& dst_to_src, int out_height,
                          int out_width) {
  TORCH_CHECK(input.dim() == 4 && input.is_floating_point(),
              "warp_affine: expected a float [N, C, H, W] tensor, got ", input.sizes());
  const int height = static_cast<int>(input.size(2)), width = static_cast<int>(input.size(3));
  const auto theta = theta_of(dst_to_src, width, height, out_width, out_height)
                         .unsqueeze(0)
                         .expand({input.size(0), 2, 3});
  return sample(input, theta, out_height, out_width);
}

torch::Tensor warp_faces(const torch::Tensor& frame_rgb, const std::vector<Affine>& frame_to_crop,
                         int size) {
  TORCH_CHECK(frame_rgb.dim() == 3 && frame_rgb.size(0) == 3,
              "warp_faces: expected a [3, H, W] frame, got ", frame_rgb.sizes());
  const auto batch = static_cast<std::int64_t>(frame_to_crop.size());
  const auto options = torch::TensorOptions().device(frame_rgb.device()).dtype(torch::kFloat);
  if (batch == 0) return torch::empty({0, 3, size, size}, options);
  const int height = static_cast<int>(frame_rgb.size(1)), width = static_cast<int>(frame_rgb.size(2));
  std::vector<torch::Tensor> thetas;
  thetas.reserve(frame_to_crop.size());
  for (const auto& m : frame_to_crop)
    thetas.push_back(theta_of(invert_affine(m), width, height, size, size));
  // One frame shared by every grid: expand costs no copy.
  const auto frame = frame_rgb.to(torch::kFloat).unsqueeze(0).expand({batch, 3, height, width});
  return sample(frame, torch::stack(thetas), size, size);
}

}  // namespace gpen
