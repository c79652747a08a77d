// Face geometry: alignment to GPEN's template, paste-back through the
// feathered mask, the crop filters, and the Haar-cascade fallback detector.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "faces/cascade_detector.h"
#include "faces/face_align.h"
#include "faces/face_filters.h"
#include "faces/paste_back.h"
#include "runtime/error.h"
#include "runtime/image_tensor.h"

namespace {

constexpr double kPi = 3.14159265358979323846;
const std::string kImages = std::string(GPEN_TEST_DATA_DIR) + "/images/";

// A similarity as cv2 writes it: scale, rotation (degrees), then a shift.
gpen::Affine similarity(double scale, double degrees, double tx, double ty) {
  const double c = scale * std::cos(degrees * kPi / 180), s = scale * std::sin(degrees * kPi / 180);
  return gpen::Affine{{c, -s, tx, s, c, ty}};
}

gpen::Landmarks transformed(const gpen::Landmarks& points, const gpen::Affine& m) {
  gpen::Landmarks out;
  for (int i = 0; i < 5; ++i) out[i] = m.apply(points[i]);
  return out;
}

void expect_affine_near(const gpen::Affine& a, const gpen::Affine& b, double tolerance) {
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(a.m[i], b.m[i], tolerance) << "entry " << i;
}

// An image file as a [3, H, W] uint8 RGB tensor (alpha dropped).
torch::Tensor load_rgb(const std::string& path) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot read " + path);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone();
}

cv::Mat to_mat(const torch::Tensor& rgb) {
  const auto hwc = rgb.permute({1, 2, 0}).contiguous();
  return cv::Mat(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3,
                 hwc.data_ptr())
      .clone();
}

// A frame with only low frequencies, which bilinear resampling reproduces
// almost exactly (a warp there and back is then a near-identity).
torch::Tensor smooth_frame(int height, int width) {
  const auto y = torch::arange(height, torch::kFloat).view({1, height, 1});
  const auto x = torch::arange(width, torch::kFloat).view({1, 1, width});
  const auto phase = torch::tensor({0.0f, 1.0f, 2.0f}).view({3, 1, 1});
  const auto image = 128 + 60 * torch::sin(x / 37.0 + phase) * torch::cos(y / 29.0 - phase) +
                     20 * torch::cos((x + y) / 53.0);
  return image.round().clamp(0, 255).to(torch::kUInt8);
}

// A face whose template landmarks (for a crop of `size`) sit at `where` in
// the frame: frame -> crop matrix.
gpen::Affine face_at(const gpen::Affine& crop_to_frame, int size) {
  return gpen::similarity_transform(
      transformed(gpen::template_landmarks(size), crop_to_frame), gpen::template_landmarks(size));
}

bool same_outside(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& mask) {
  const auto outside = (mask == 0).unsqueeze(0).expand_as(a);
  return torch::equal(a.masked_select(outside), b.masked_select(outside));
}

// ---------------------------------------------------------------- alignment

TEST(Similarity, TemplateMatchesGpen) {
  const auto t = gpen::template_landmarks(512);
  EXPECT_NEAR(t[0].x, 202.04068, 1e-3);
  EXPECT_NEAR(t[0].y, 242.88396, 1e-3);
  EXPECT_NEAR(t[2].x, 256.0768, 1e-3);
  EXPECT_NEAR(t[4].y, 366.33631, 1e-3);
  const auto half = gpen::template_landmarks(256);
  EXPECT_NEAR(half[3].x, t[3].x / 2, 1e-4);
}

TEST(Similarity, RecoversRotationScaleAndShift) {
  // Hand-checked: 2 (cos 30, sin 30) = (1.7320508, 1).
  const auto from = gpen::template_landmarks(512);
  const gpen::Affine truth{{1.7320508075688772, -1.0, 40.0, 1.0, 1.7320508075688772, -15.0}};
  expect_affine_near(similarity(2.0, 30.0, 40.0, -15.0), truth, 1e-12);
  const auto to = transformed(from, truth);
  expect_affine_near(gpen::similarity_transform(from, to), truth, 1e-4);
  // The way back is the inverse, and composing the two is the identity.
  const auto back = gpen::similarity_transform(to, from);
  // (Landmarks are floats: a few 1e-5 px on coordinates of 500.)
  expect_affine_near(back, gpen::invert_affine(truth), 1e-4);
  expect_affine_near(back * truth, gpen::Affine{}, 1e-4);
  const auto p = truth.apply({10.f, 20.f});
  EXPECT_NEAR(p.x, 1.7320508 * 10 - 20 + 40, 1e-4);
  EXPECT_NEAR(p.y, 10 + 1.7320508 * 20 - 15, 1e-4);
  EXPECT_NEAR(truth.scale(), 2.0, 1e-12);
}

TEST(Similarity, LeastSquaresOnNoisyPoints) {
  const auto from = gpen::template_landmarks(256);
  const auto truth = similarity(0.7, -12.0, 5.0, 9.0);
  auto to = transformed(from, truth);
  // Zero-mean noise that is not itself a similarity: the fit stays close.
  const float noise[5][2] = {{0.5f, -0.3f}, {-0.4f, 0.2f}, {0.1f, 0.4f}, {-0.3f, -0.1f}, {0.1f, -0.2f}};
  for (int i = 0; i < 5; ++i) to[i].x += noise[i][0], to[i].y += noise[i][1];
  const auto fit = gpen::similarity_transform(from, to);
  for (const int i : {0, 1, 3, 4}) EXPECT_NEAR(fit.m[i], truth.m[i], 0.01) << i;
  // Least squares puts the centroid on the centroid.
  gpen::Point centre, target;
  for (int i = 0; i < 5; ++i) {
    centre.x += from[i].x / 5, centre.y += from[i].y / 5;
    target.x += to[i].x / 5, target.y += to[i].y / 5;
  }
  EXPECT_NEAR(fit.apply(centre).x, target.x, 1e-3);
  EXPECT_NEAR(fit.apply(centre).y, target.y, 1e-3);
  for (int i = 0; i < 5; ++i) {
    const auto p = fit.apply(from[i]);
    EXPECT_LT(std::hypot(p.x - to[i].x, p.y - to[i].y), 0.8) << i;
  }
}

TEST(Similarity, MirroredPointsGiveNoReflection) {
  const auto to = gpen::template_landmarks(512);
  gpen::Landmarks mirrored;
  for (int i = 0; i < 5; ++i) mirrored[i] = {1000.f - to[i].x, to[i].y};
  const auto m = gpen::similarity_transform(mirrored, to).m;
  const double det = m[0] * m[4] - m[1] * m[3];
  EXPECT_GT(det, 0.0);                  // orientation kept
  EXPECT_NEAR(m[0], m[4], 1e-9);        // rotation and uniform scale only
  EXPECT_NEAR(m[1], -m[3], 1e-9);
  // A reflection would fit exactly; the best similarity cannot.
  const auto mapped = transformed(mirrored, gpen::similarity_transform(mirrored, to));
  double residual = 0;
  for (int i = 0; i < 5; ++i)
    residual += std::hypot(mapped[i].x - to[i].x, mapped[i].y - to[i].y);
  EXPECT_GT(residual, 10.0);
}

TEST(Similarity, DegenerateLandmarksThrow) {
  gpen::Landmarks same;
  for (auto& p : same) p = {5.f, 5.f};
  EXPECT_THROW(gpen::similarity_transform(same, gpen::template_landmarks(512)), gpen::Error);
  EXPECT_THROW(gpen::invert_affine(gpen::Affine{{0, 0, 1, 0, 0, 1}}), gpen::Error);
}

TEST(Landmarks, FromEyesAndFromBox) {
  // The template's own eyes give back the template.
  const auto t = gpen::template_landmarks(300);
  const auto again = gpen::landmarks_from_eyes(t[0], t[1]);
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(again[i].x, t[i].x, 1e-3);
    EXPECT_NEAR(again[i].y, t[i].y, 1e-3);
  }
  // Eyes tilted by 90 degrees turn the face with them: nose to the left.
  const auto turned = gpen::landmarks_from_eyes({100.f, 100.f}, {100.f, 140.f});
  EXPECT_LT(turned[2].x, 100.f);
  // From a box: inside it, eyes level and at the documented proportions.
  gpen::FaceDetection box;
  box.x1 = 100, box.y1 = 50, box.x2 = 200, box.y2 = 150;
  const auto e = gpen::estimate_landmarks(box);
  EXPECT_NEAR(e[1].x - e[0].x, gpen::kBoxEyeDistance * 100, 1e-3);
  EXPECT_NEAR((e[0].y + e[1].y) / 2, 50 + gpen::kBoxEyeHeight * 100, 1e-3);
  EXPECT_NEAR((e[0].x + e[1].x) / 2, 150, 1e-3);
  for (const auto& p : e) {
    EXPECT_GT(p.x, box.x1); EXPECT_LT(p.x, box.x2);
    EXPECT_GT(p.y, box.y1); EXPECT_LT(p.y, box.y2);
  }
  EXPECT_LT(e[0].y, e[2].y);  // eyes above the nose, nose above the mouth
  EXPECT_LT(e[2].y, e[3].y);
  // face_landmarks prefers the detector's own.
  box.landmarks = t;
  box.has_landmarks = true;
  EXPECT_EQ(gpen::face_landmarks(box)[2].x, t[2].x);
}

TEST(Warp, PutsLandmarksOnTheTemplate) {
  // Bright dots at five landmarks of a turned, shrunken face in a frame.
  const int size = 256, height = 240, width = 320;
  const auto crop_to_frame = similarity(0.55, 23.0, 120.0, 20.0);
  const auto landmarks = transformed(gpen::template_landmarks(size), crop_to_frame);
  auto frame = torch::zeros({height, width}, torch::kFloat);
  const auto y = torch::arange(height, torch::kFloat).view({height, 1});
  const auto x = torch::arange(width, torch::kFloat).view({1, width});
  for (const auto& p : landmarks)
    frame += 250 * torch::exp(-((x - p.x).square() + (y - p.y).square()) / (2 * 1.5 * 1.5));
  const auto frame8 = frame.round().clamp(0, 255).to(torch::kUInt8).unsqueeze(0).repeat({3, 1, 1});

  const auto m = gpen::similarity_transform(landmarks, gpen::template_landmarks(size));
  const auto crop = gpen::warp_faces(frame8, {m}, size);
  ASSERT_EQ(crop.sizes(), (std::vector<std::int64_t>{1, 3, size, size}));
  const auto plane = crop[0][0];
  const auto cy = torch::arange(size, torch::kFloat).view({size, 1}).expand({size, size});
  const auto cx = torch::arange(size, torch::kFloat).view({1, size}).expand({size, size});
  for (const auto& t : gpen::template_landmarks(size)) {
    // Centroid of the dot within 10 px of where the template says it is.
    const auto near = ((cx - t.x).square() + (cy - t.y).square() < 100).to(torch::kFloat);
    const auto weight = plane * near;
    const double total = weight.sum().item<double>();
    ASSERT_GT(total, 0.0);
    const double mx = (weight * cx).sum().item<double>() / total;
    const double my = (weight * cy).sum().item<double>() / total;
    EXPECT_NEAR(mx, t.x, 1.0);
    EXPECT_NEAR(my, t.y, 1.0);
  }
}

TEST(Warp, MatchesCv2WarpAffine) {
  const auto frame = load_rgb(kImages + "astronaut.png");
  const auto m = similarity(2.3, 11.0, -350.0, -120.0);
  const auto crop = gpen::quantize(gpen::warp_faces(frame, {m}, 256)[0]);
  cv::Mat expected;
  const cv::Mat matrix = (cv::Mat_<double>(2, 3) << m.m[0], m.m[1], m.m[2], m.m[3], m.m[4], m.m[5]);
  cv::warpAffine(to_mat(frame), expected, matrix, cv::Size(256, 256), cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
  const auto reference =
      torch::from_blob(expected.data, {256, 256, 3}, torch::kUInt8).permute({2, 0, 1});
  // cv2 quantises coordinates to 1/32 px and weights to 1/1024: a level or
  // two at edges, nothing systematic.
  const auto diff = (crop.to(torch::kInt) - reference.to(torch::kInt)).abs();
  std::printf("[          ] against cv2.warpAffine: max %d, mean %.4f levels\n",
              diff.max().item<int>(), diff.to(torch::kFloat).mean().item<float>());
  EXPECT_LE(diff.max().item<int>(), 4);
  EXPECT_LT(diff.to(torch::kFloat).mean().item<float>(), 0.3f);
}

TEST(Warp, Uint8AndFloatAgreeAndBatchIsIndependent) {
  const auto frame = load_rgb(kImages + "astronaut.png");
  const auto a = similarity(0.5, 0.0, -0.25, -0.25), b = similarity(1.2, -40.0, 30.0, 200.0);
  const auto both = gpen::warp_faces(frame, {a, b}, 128);
  EXPECT_TRUE(torch::allclose(both[1], gpen::warp_faces(frame.to(torch::kFloat), {b}, 128)[0]));
  EXPECT_TRUE(torch::allclose(both[0], gpen::warp_faces(frame, {a}, 128)[0]));
  EXPECT_EQ(gpen::warp_faces(frame, {}, 64).size(0), 0);
  // cv2's convention (centres at integers): x' = x / 2 - 1/4 takes crop
  // pixel 10 to frame 20.5, between four pixels.
  const auto f = frame.to(torch::kFloat);
  EXPECT_NEAR(both[0][0][10][10].item<float>(),
              ((f[0][20][20] + f[0][20][21] + f[0][21][20] + f[0][21][21]) / 4).item<float>(),
              1e-3);
}

// ------------------------------------------------------------------- mask

TEST(Mask, ReferenceShapeAt512) {
  const auto mask = gpen::paste_mask(512);
  ASSERT_EQ(mask.sizes(), (std::vector<std::int64_t>{512, 512}));
  EXPECT_GE(mask.min().item<float>(), 0.f);
  EXPECT_LE(mask.max().item<float>(), 1.f);
  EXPECT_NEAR(mask[256][256].item<float>(), 1.f, 1e-6);
  // Symmetric, and exactly zero within 10 px of the crop's edges.
  EXPECT_TRUE(torch::equal(mask, mask.flip({0})));
  EXPECT_TRUE(torch::equal(mask, mask.flip({1})));
  EXPECT_TRUE(torch::equal(mask, mask.t()));
  EXPECT_EQ(mask.slice(0, 0, 10).abs().max().item<float>(), 0.f);
  EXPECT_EQ(mask.slice(1, 0, 10).abs().max().item<float>(), 0.f);

  // The reference's construction with OpenCV. Its rectangle (26, 26)-(486,
  // 486) leaves 26 px above and left, 25 below and right; ours leaves 26 on
  // every side. So the top-left half is the reference's and the bottom-right
  // half is the reference's shifted by one pixel, wherever the reference is
  // above the documented floor of 1/512; below it, ours is 0.
  cv::Mat reference = cv::Mat::zeros(512, 512, CV_32F);
  cv::rectangle(reference, cv::Point(26, 26), cv::Point(486, 486), cv::Scalar(1), -1, cv::LINE_AA);
  cv::GaussianBlur(reference, reference, cv::Size(101, 101), 4);
  cv::GaussianBlur(reference, reference, cv::Size(101, 101), 4);
  const auto expected = torch::from_blob(reference.data, {512, 512}, torch::kFloat);
  const auto ours = mask.slice(0, 0, 256).slice(1, 0, 256);
  const auto theirs = expected.slice(0, 0, 256).slice(1, 0, 256);
  const auto above = theirs >= 1.0 / 512;
  EXPECT_LT((ours - theirs).masked_select(above).abs().max().item<float>(), 1e-4f);
  EXPECT_EQ(ours.masked_select(theirs < 1.0 / 512 - 1e-4).abs().max().item<float>(), 0.f);
  const auto shifted = expected.slice(0, 257).slice(1, 257);
  const auto ours_right = mask.slice(0, 256, 511).slice(1, 256, 511);
  EXPECT_LT((ours_right - shifted).abs().max().item<float>(), 1e-4f + 1.f / 512);
}

TEST(Mask, ScalesWithTheModel) {
  for (const int size : {64, 256, 1024}) {
    const auto mask = gpen::paste_mask(size);
    ASSERT_EQ(mask.size(0), size);
    EXPECT_GE(mask.min().item<float>(), 0.f) << size;
    EXPECT_NEAR(mask.max().item<float>(), 1.f, 1e-5) << size;
    EXPECT_EQ(mask[0].abs().max().item<float>(), 0.f) << size;
    EXPECT_EQ(mask.select(1, size - 1).abs().max().item<float>(), 0.f) << size;
    // Same profile as 512's, at scale: value at 5 % in from the edge.
    const int at = size * 30 / 512;
    EXPECT_NEAR(mask[size / 2][at].item<float>(),
                gpen::paste_mask(512)[256][30].item<float>(), 0.1) << size;
  }
}

// ------------------------------------------------------------- paste-back

TEST(Paste, UnmodifiedCropReproducesTheFrame) {
  const int size = 256;
  const auto frame = smooth_frame(240, 320);
  const auto m = face_at(similarity(0.45, 15.0, 110.0, 40.0), size);
  const auto crops = gpen::warp_faces(frame, {m}, size);
  gpen::PasteOptions options;
  options.face_sizes = {150.f};  // not a small face: no smoothing
  torch::Tensor mask;
  const auto pasted = gpen::paste_faces(frame, crops, {m}, options, &mask);
  ASSERT_EQ(pasted.sizes(), frame.sizes());
  ASSERT_EQ(pasted.scalar_type(), torch::kUInt8);
  const auto inside = (mask > 0).unsqueeze(0).expand_as(frame);
  ASSERT_GT(inside.sum().item<std::int64_t>(), 3 * 5000);
  ASSERT_GT((~inside).sum().item<std::int64_t>(), 3 * 5000);
  const auto diff = (pasted.to(torch::kInt) - frame.to(torch::kInt)).abs();
  std::printf("[          ] warp there and back: max %d levels inside the mask\n",
              diff.masked_select(inside).max().item<int>());
  EXPECT_LE(diff.masked_select(inside).max().item<int>(), 2);
  EXPECT_TRUE(same_outside(pasted, frame, mask));
}

TEST(Paste, ModifiedCropChangesOnlyInsideTheMask) {
  const int size = 512;
  const auto frame = load_rgb(kImages + "astronaut.png");
  gpen::FaceDetection face;
  face.x1 = 177, face.y1 = 66, face.x2 = 272, face.y2 = 161;  // the cascade's box
  const auto m = gpen::alignment_transform(face, size);
  const auto inverted = 255 - gpen::warp_faces(frame, {m}, size);
  torch::Tensor mask;
  const auto pasted = gpen::paste_faces(frame, inverted, {m}, {}, &mask);
  EXPECT_TRUE(same_outside(pasted, frame, mask));
  // Where the mask is strong the (inverted) face shows: every pixel moved.
  const auto strong = (mask > 0.5).unsqueeze(0).expand_as(frame);
  ASSERT_GT(strong.sum().item<std::int64_t>(), 3 * 2000);
  const auto diff = (pasted.to(torch::kInt) - frame.to(torch::kInt)).abs();
  EXPECT_GT(diff.masked_select(strong).to(torch::kFloat).mean().item<float>(), 40.f);
  // The mask covers the face and stays within its surroundings.
  EXPECT_GT(mask[110][225].item<float>(), 0.99f);
  EXPECT_EQ(mask[400][100].item<float>(), 0.f);
  EXPECT_EQ(mask[10][225].item<float>(), 0.f);
}

TEST(Paste, TheTouchedRegionsHoldEveryChange) {
  const int size = 512;
  const auto frame = load_rgb(kImages + "astronaut.png");
  gpen::FaceDetection face;
  face.x1 = 177, face.y1 = 66, face.x2 = 272, face.y2 = 161;
  const auto m = gpen::alignment_transform(face, size);
  const auto inverted = 255 - gpen::warp_faces(frame, {m}, size);
  torch::Tensor mask;
  std::vector<gpen::PasteRegion> touched;
  const auto pasted = gpen::paste_faces(frame, inverted, {m}, {}, &mask, &touched);
  ASSERT_EQ(touched.size(), 1u);
  const auto& r = touched[0];
  EXPECT_LT(r.width * r.height, frame.size(1) * frame.size(2) / 2);
  // Outside the region the frame is untouched; the mask lies inside it.
  auto outside = torch::ones({frame.size(1), frame.size(2)}, torch::kBool);
  outside.slice(0, r.y, r.y + r.height).slice(1, r.x, r.x + r.width).fill_(false);
  EXPECT_TRUE(torch::equal(pasted.masked_select(outside.expand_as(frame)),
                           frame.masked_select(outside.expand_as(frame))));
  EXPECT_EQ(mask.masked_select(outside).sum().item<float>(), 0.f);
  // No face in the frame: nothing touched.
  gpen::FaceDetection away;
  away.x1 = 5000, away.y1 = 5000, away.x2 = 5100, away.y2 = 5100;
  gpen::paste_faces(frame, inverted, {gpen::alignment_transform(away, size)}, {}, nullptr,
                    &touched);
  EXPECT_TRUE(touched.empty());
  // A region as a view of an image: its first pixel and its stride.
  std::vector<std::uint8_t> bytes(20 * 10 * 4);
  gpen::ImageView whole{bytes.data(), 20, 10, 80, 4, 2, 1, 0};
  const auto part = gpen::crop_view(whole, 3, 2, 5, 4);
  EXPECT_EQ(part.data, bytes.data() + 2 * 80 + 3 * 4);
  EXPECT_EQ(part.width, 5);
  EXPECT_EQ(part.row_stride, 80);
  EXPECT_EQ(part.red, 2);
  EXPECT_ANY_THROW(gpen::crop_view(whole, 18, 0, 5, 4));
}

TEST(Paste, FacesApartArePastedApartAsOneByOne) {
  const int size = 256;
  const auto one = load_rgb(kImages + "astronaut.png");
  const auto frame = torch::cat({one, one}, 2).contiguous();  // two faces 512 px apart
  gpen::FaceDetection left, right;
  left.x1 = 177, left.y1 = 66, left.x2 = 272, left.y2 = 161;
  right = left;
  right.x1 += 512, right.x2 += 512;
  const auto ml = gpen::alignment_transform(left, size), mr = gpen::alignment_transform(right, size);
  const auto crops = 255 - gpen::warp_faces(frame, {ml, mr}, size);
  std::vector<gpen::PasteRegion> touched;
  const auto both = gpen::paste_faces(frame, crops, {ml, mr}, {}, nullptr, &touched);
  ASSERT_EQ(touched.size(), 2u);  // two boxes, not one around both
  const auto& a = touched[0];
  const auto& b = touched[1];
  EXPECT_TRUE(a.x + a.width <= b.x || b.x + b.width <= a.x);
  EXPECT_LT(a.width + b.width, 1024);
  const auto first = gpen::paste_faces(frame, crops.slice(0, 0, 1), {ml});
  const auto then = gpen::paste_faces(first, crops.slice(0, 1, 2), {mr});
  EXPECT_TRUE(torch::equal(both, then));
  // Overlapping faces stay one group: the same face twice.
  gpen::paste_faces(frame, torch::cat({crops.slice(0, 0, 1), crops.slice(0, 0, 1)}), {ml, ml}, {},
                    nullptr, &touched);
  EXPECT_EQ(touched.size(), 1u);
}

TEST(Paste, StrengthBlendsWithTheOriginal) {
  const int size = 128;
  const auto frame = smooth_frame(200, 200);
  const auto m = face_at(similarity(0.8, 0.0, 40.0, 30.0), size);
  const auto bright = torch::full({1, 3, size, size}, 250.f);
  gpen::PasteOptions options;
  options.face_sizes = {200.f};
  options.strength = 0.f;
  EXPECT_TRUE(torch::equal(gpen::paste_faces(frame, bright, {m}, options), frame));
  options.strength = 0.5f;
  torch::Tensor mask;
  const auto half = gpen::paste_faces(frame, bright, {m}, options, &mask).to(torch::kFloat);
  const auto f = frame.to(torch::kFloat);
  const auto expected = f + (250 - f) * mask * 0.5;
  EXPECT_LE((half - expected).abs().max().item<float>(), 0.5f + 1e-3f);
  options.strength = 1.5f;
  EXPECT_THROW(gpen::paste_faces(frame, bright, {m}, options), gpen::Error);
}

TEST(Paste, WhereFacesOverlapTheStrongerMaskWins) {
  const int size = 128, height = 160, width = 240;
  const auto frame = torch::full({3, height, width}, 100, torch::kUInt8);
  // Two faces side by side whose masks overlap in the middle.
  const auto a = face_at(similarity(0.9, 0.0, 30.0, 10.0), size);
  const auto b = face_at(similarity(1.0, 10.0, 100.0, 20.0), size);
  auto crops = torch::empty({2, 3, size, size});
  crops[0].fill_(250.f);
  crops[1].fill_(0.f);
  gpen::PasteOptions options;
  options.face_sizes = {200.f, 200.f};
  torch::Tensor combined;
  const auto pasted = gpen::paste_faces(frame, crops, {a, b}, options, &combined);

  // Each face's own mask in the frame, with the library's warp.
  const auto mask = gpen::paste_mask(size).view({1, 1, size, size});
  const auto ma = gpen::warp_affine(mask, a, height, width)[0][0];
  const auto mb = gpen::warp_affine(mask, b, height, width)[0][0];
  const auto both = (ma > 0.05) & (mb > 0.05);
  ASSERT_GT(both.sum().item<std::int64_t>(), 200);
  const auto a_wins = both & (ma > mb + 1e-3), b_wins = both & (mb > ma + 1e-3);
  ASSERT_GT(a_wins.sum().item<std::int64_t>(), 50);
  ASSERT_GT(b_wins.sum().item<std::int64_t>(), 50);
  EXPECT_LT((combined - torch::max(ma, mb)).abs().max().item<float>(), 1e-4f);
  const auto out = pasted[0].to(torch::kFloat);
  const auto from_a = 250 * ma + 100 * (1 - ma), from_b = 100 * (1 - mb);
  EXPECT_LE((out - from_a).masked_select(a_wins).abs().max().item<float>(), 1.f);
  EXPECT_LE((out - from_b).masked_select(b_wins).abs().max().item<float>(), 1.f);
  EXPECT_TRUE(same_outside(pasted, frame, combined));
}

TEST(Paste, SmallFacesAreSmoothed) {
  const int size = 64;
  const auto frame = torch::full({3, 120, 120}, 128, torch::kUInt8);
  const auto m = face_at(similarity(1.0, 0.0, 28.0, 28.0), size);
  // A one-pixel checkerboard: the 3x3 binomial kernel flattens it.
  const auto idx = torch::arange(size);
  const auto board = ((idx.view({size, 1}) + idx.view({1, size})) % 2 * 200 + 20)
                         .to(torch::kFloat).expand({1, 3, size, size}).contiguous();
  gpen::PasteOptions options;
  options.face_sizes = {150.f};
  const auto sharp = gpen::paste_faces(frame, board, {m}, options).to(torch::kFloat);
  options.face_sizes = {60.f};
  const auto smooth = gpen::paste_faces(frame, board, {m}, options).to(torch::kFloat);
  const auto centre = [](const torch::Tensor& t) { return t.slice(1, 50, 70).slice(2, 50, 70); };
  EXPECT_GT(centre(sharp).std().item<float>(), 50.f);
  EXPECT_LT(centre(smooth).std().item<float>(), 5.f);
  // Without sizes the box is estimated from the matrix: half the crop, 32 px here.
  options.face_sizes.clear();
  EXPECT_TRUE(torch::equal(gpen::paste_faces(frame, board, {m}, options).to(torch::kFloat), smooth));
}

TEST(Paste, FacesPartlyOrWhollyOutsideTheFrame) {
  const int size = 128;
  const auto frame = smooth_frame(100, 100);
  const auto crops = torch::full({2, 3, size, size}, 0.f);
  const auto outside = face_at(similarity(0.5, 0.0, 500.0, 500.0), size);
  const auto corner = face_at(similarity(0.8, 30.0, -40.0, -30.0), size);
  gpen::PasteOptions options;
  EXPECT_TRUE(torch::equal(gpen::paste_faces(frame, crops.slice(0, 0, 1), {outside}, options), frame));
  options.face_sizes = {200.f, 200.f};
  torch::Tensor mask;
  const auto pasted = gpen::paste_faces(frame, crops, {outside, corner}, options, &mask);
  EXPECT_GT(mask.max().item<float>(), 0.5f);
  EXPECT_TRUE(same_outside(pasted, frame, mask));
  EXPECT_THROW(gpen::paste_faces(frame, crops, {corner}, options), gpen::Error);
  EXPECT_THROW(gpen::paste_faces(frame.to(torch::kFloat), crops, {outside, corner}, options),
               gpen::Error);
}

// ---------------------------------------------------------------- filters

TEST(Filters, GaussianKernelMatchesOpenCv) {
  for (const auto& [ksize, sigma] : std::vector<std::pair<int, double>>{{101, 4.0}, {7, 1.3}, {3, 0.8}}) {
    const cv::Mat expected = cv::getGaussianKernel(ksize, sigma, CV_64F);
    const auto kernel = gpen::gaussian_kernel(ksize, sigma);
    for (int i = 0; i < ksize; ++i)
      EXPECT_NEAR(kernel[i].item<double>(), expected.at<double>(i), 1e-12) << ksize << " " << i;
  }
  EXPECT_THROW(gpen::gaussian_kernel(4, 1.0), gpen::Error);
}

TEST(Filters, AmountZeroIsTheIdentity) {
  const auto crops = torch::rand({2, 3, 64, 64}) * 255;
  EXPECT_TRUE(torch::equal(gpen::denoise(crops, 0.f), crops));
  EXPECT_TRUE(torch::equal(gpen::sharpen(crops, 0.f), crops));
  EXPECT_THROW(gpen::denoise(crops, -0.1f), gpen::Error);
  EXPECT_THROW(gpen::sharpen(crops, 1.5f), gpen::Error);
  EXPECT_THROW(gpen::denoise(crops, NAN), gpen::Error);
}

TEST(Filters, DenoiseSmoothsNoiseButKeepsEdges) {
  torch::manual_seed(1);
  const int size = 128;
  // Left half 60, right half 190, plus noise of 6 levels.
  auto clean = torch::full({1, 3, size, size}, 60.f);
  clean.slice(3, size / 2).fill_(190.f);
  const auto noisy = clean + torch::randn({1, 3, size, size}) * 6;
  const auto out = gpen::denoise(noisy, 1.f);
  const auto flat = [](const torch::Tensor& t) { return t.slice(3, 8, 56); };
  EXPECT_LT(flat(out - clean).std().item<float>(), 0.5f * flat(noisy - clean).std().item<float>());
  // The step is kept: columns next to it stay near their side's level.
  EXPECT_LT((out.select(3, size / 2 - 1) - 60).abs().mean().item<float>(), 5.f);
  EXPECT_LT((out.select(3, size / 2) - 190).abs().mean().item<float>(), 5.f);
}

TEST(Filters, SharpenAddsDetail) {
  const auto crops = gpen::gaussian_blur(torch::rand({1, 3, 64, 64}) * 200 + 20, 5, 1.5);
  const auto out = gpen::sharpen(crops, 1.f);
  EXPECT_GE(out.min().item<float>(), 0.f);
  EXPECT_LE(out.max().item<float>(), 255.f);
  const auto detail = [](const torch::Tensor& t) {
    return (t.slice(3, 1) - t.slice(3, 0, -1)).abs().mean().item<float>();
  };
  EXPECT_GT(detail(out), 1.3f * detail(crops));
  EXPECT_NEAR(out.mean().item<float>(), crops.mean().item<float>(), 1.f);  // no shift of tone
}

// --------------------------------------------------------------- detector

std::vector<gpen::FaceDetection> detect_file(gpen::CascadeDetector& detector,
                                             const std::string& path, double* seconds = nullptr) {
  cv::Mat image = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (image.empty()) throw std::runtime_error("cannot read " + path);
  cv::cvtColor(image, image, image.channels() == 4 ? cv::COLOR_BGRA2RGBA : cv::COLOR_BGR2RGB);
  const auto start = std::chrono::steady_clock::now();
  auto faces = detector.detect(image);
  if (seconds)
    *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return faces;
}

TEST(Cascade, FindsTheAstronaut) {
  gpen::CascadeDetector detector;
  const auto faces = detect_file(detector, kImages + "astronaut.png");
  ASSERT_EQ(faces.size(), 1u);
  const auto& f = faces[0];
  // Her eyes, read off the picture: about (203, 102) and (249, 102).
  EXPECT_LT(f.x1, 195.f); EXPECT_GT(f.x2, 257.f);
  EXPECT_LT(f.y1, 94.f);  EXPECT_GT(f.y2, 110.f);
  EXPECT_LT(f.width(), 160.f);
  EXPECT_TRUE(f.has_landmarks);
  EXPECT_NEAR(f.landmarks[0].x, 203.f, 8.f);
  EXPECT_NEAR(f.landmarks[0].y, 102.f, 8.f);
  EXPECT_NEAR(f.landmarks[1].x, 249.f, 8.f);
  EXPECT_NEAR(f.landmarks[1].y, 102.f, 8.f);
  EXPECT_EQ(f.score, 1.f);
}

TEST(Cascade, FindsManyFacesInTheSolvayPhotograph) {
  gpen::CascadeDetector detector;
  double seconds = 0;
  const auto faces = detect_file(detector, kImages + "solvay_1927.png", &seconds);
  int with_eyes = 0;
  for (const auto& f : faces) with_eyes += f.has_landmarks;
  std::printf("[          ] solvay_1927.png: %zu faces (%d with eyes) in %.2f s\n", faces.size(),
              with_eyes, seconds);
  EXPECT_GE(faces.size(), 10u);
  EXPECT_LE(faces.size(), 40u);
  for (std::size_t i = 1; i < faces.size(); ++i)
    EXPECT_GE(faces[i - 1].width() * faces[i - 1].height(), faces[i].width() * faces[i].height());
  for (const auto& f : faces) {
    EXPECT_GE(f.x1, 0.f); EXPECT_LE(f.x2, 1328.f);
    EXPECT_GE(f.y1, 0.f); EXPECT_LE(f.y2, 568.f);
    // Landmarks inside the box, eyes above the mouth.
    for (const auto& p : f.landmarks) {
      EXPECT_GT(p.x, f.x1 - 0.1f * f.width()); EXPECT_LT(p.x, f.x2 + 0.1f * f.width());
    }
    EXPECT_LT(f.landmarks[0].y, f.landmarks[3].y);
  }
}

TEST(Cascade, AcceptsGrayAndRejectsOtherImages) {
  gpen::CascadeDetector detector;
  cv::Mat gray = cv::imread(kImages + "astronaut.png", cv::IMREAD_GRAYSCALE);
  EXPECT_EQ(detector.detect(gray).size(), 1u);
  EXPECT_THROW(detector.detect(cv::Mat()), gpen::Error);
  EXPECT_THROW(detector.detect(cv::Mat(10, 10, CV_32FC3)), gpen::Error);
  EXPECT_TRUE(detector.detect(cv::Mat(50, 50, CV_8UC3, cv::Scalar(0, 0, 0))).empty());
}

TEST(Cascade, DirectoryFromTheEnvironment) {
  const char* saved = std::getenv("GPEN_CASCADE_DIR");
  const std::string previous = saved ? saved : "";
  setenv("GPEN_CASCADE_DIR", "/elsewhere/haarcascades", 1);
  EXPECT_EQ(gpen::CascadeDetector::default_directory(), "/elsewhere/haarcascades");
  unsetenv("GPEN_CASCADE_DIR");
  EXPECT_EQ(gpen::CascadeDetector::default_directory(), gpen::CascadeDetector::kDefaultDirectory);
  if (saved) setenv("GPEN_CASCADE_DIR", previous.c_str(), 1);
}

TEST(Cascade, MissingCascadeIsAnErrorNamingTheFile) {
  try {
    gpen::CascadeDetector detector("/nonexistent/cascades");
    FAIL() << "expected gpen::Error";
  } catch (const gpen::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cascades/haarcascade_frontalface_default.xml"),
              std::string::npos) << e.what();
  }
}

// ------------------------------------------------------------------ CUDA

TEST(Cuda, WarpAndPasteMatchTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA, 0);
  const int size = 256;
  const auto frame = load_rgb(kImages + "astronaut.png");
  gpen::FaceDetection face;
  face.x1 = 177, face.y1 = 66, face.x2 = 272, face.y2 = 161;
  const auto m = gpen::alignment_transform(face, size);
  const auto cpu_crops = gpen::warp_faces(frame, {m}, size);
  const auto gpu_crops = gpen::warp_faces(frame.to(cuda), {m}, size);
  ASSERT_TRUE(gpu_crops.is_cuda());
  EXPECT_LT((gpu_crops.cpu() - cpu_crops).abs().max().item<float>(), 0.05f);
  const auto edited = gpen::sharpen(gpen::denoise(255 - gpu_crops, 0.5f), 0.5f);
  torch::Tensor gpu_mask;
  const auto gpu = gpen::paste_faces(frame.to(cuda), edited, {m}, {}, &gpu_mask);
  ASSERT_TRUE(gpu.is_cuda());
  const auto cpu = gpen::paste_faces(frame, edited.cpu(), {m});
  EXPECT_LE((gpu.cpu().to(torch::kInt) - cpu.to(torch::kInt)).abs().max().item<int>(), 1);
  EXPECT_TRUE(same_outside(gpu.cpu(), frame, gpu_mask.cpu()));
}

}  // namespace
