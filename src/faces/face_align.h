// Aligning faces to GPEN's five-point template: the similarity that maps a
// face's landmarks onto the template, and warping frames through it.
//
// Coordinates follow cv2.warpAffine: a pixel's centre is at integer
// coordinates, so pixel (0, 0) covers [-0.5, 0.5) x [-0.5, 0.5).
#pragma once

#include <array>
#include <vector>

#include <torch/types.h>

#include "faces/face.h"

namespace gpen {

// A 2x3 affine matrix in cv2's layout: x' = m[0] x + m[1] y + m[2],
// y' = m[3] x + m[4] y + m[5].
struct Affine {
  std::array<double, 6> m{1.0, 0.0, 0.0, 0.0, 1.0, 0.0};

  Point apply(Point p) const;
  // sqrt(|det|): the length factor of a similarity.
  double scale() const;
};

// Composition: (a * b) applies b first, then a.
Affine operator*(const Affine& a, const Affine& b);
// Throws gpen::Error when the matrix is singular.
Affine invert_affine(const Affine& a);

// GPEN's template (face_enhancement.py: 512 crop, inner padding 0.25, square)
// for a crop of side `size`.
Landmarks template_landmarks(int size);

// Least-squares similarity (rotation, uniform scale, translation; never a
// reflection) taking `from` onto `to`: Umeyama's estimate, as the reference's
// warp_and_crop_face. Throws gpen::Error when `from` is degenerate (all
// points equal, or not finite).
Affine similarity_transform(const Landmarks& from, const Landmarks& to);

// Five landmarks from the two eye centres alone: the template's points moved
// by the similarity that puts its eyes on these (nose and mouth corners at
// the template's proportions).
Landmarks landmarks_from_eyes(Point left_eye, Point right_eye);

// Five landmarks guessed from a face box alone, for detectors that give
// none: landmarks_from_eyes with the eye line at kBoxEyeHeight of the box
// height and the eyes kBoxEyeDistance of its width apart, centred. The
// proportions are those of OpenCV's frontal-face cascade boxes (the fallback
// detector), measured where its eye cascade found both eyes: over 19 faces
// of astronaut.png and the Solvay photograph the eye line sat at 0.36-0.42
// of the height (mean 0.38) and the eyes 0.25-0.48 of the width apart (mean
// 0.31, one 0.48).
inline constexpr float kBoxEyeHeight = 0.38f;
inline constexpr float kBoxEyeDistance = 0.32f;
Landmarks estimate_landmarks(float x1, float y1, float x2, float y2);
Landmarks estimate_landmarks(const FaceDetection& box);

// The detection's landmarks, or estimate_landmarks(box) when it has none.
Landmarks face_landmarks(const FaceDetection& face);
// Frame -> crop similarity of a detected face for a crop of side `size`.
Affine alignment_transform(const FaceDetection& face, int size);

// Bilinear warp with a zero border, as cv2.warpAffine(flags=INTER_LINEAR |
// WARP_INVERSE_MAP, BORDER_CONSTANT 0): output pixel (x, y) samples the
// input at dst_to_src(x, y). `input` is [N, C, h, w] float on any device;
// the result is [N, C, out_height, out_width] on the same device.
torch::Tensor warp_affine(const torch::Tensor& input, const Affine& dst_to_src, int out_height,
                          int out_width);

// Crops of side `size` from a [3, H, W] frame (uint8 or float, any device),
// one per frame -> crop matrix: [N, 3, size, size] float in the frame's
// value range, on the frame's device.
torch::Tensor warp_faces(const torch::Tensor& frame_rgb, const std::vector<Affine>& frame_to_crop,
                         int size);

}  // namespace gpen
