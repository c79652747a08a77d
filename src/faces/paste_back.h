// Pasting enhanced face crops back into the frame through a feathered mask,
// as the reference's face_enhancement.py does, with torch ops on the frame's
// device.
#pragma once

#include <vector>

#include <torch/types.h>

#include "faces/face_align.h"

namespace gpen {

// The reference's paste mask for a crop of side `size`: ones with a border
// of b = round(26 size / 512) zeros, blurred twice by a Gaussian of sigma
// 4 size / 512 and kernel round(101 size / 512) (made odd). At 512 that is
// the reference's cv2.rectangle((26, 26), (486, 486)) and GaussianBlur((101,
// 101), 4) twice, except that the reference's rectangle leaves 25 px below
// and right where we leave 26 on every side: the mask is symmetric about the
// crop's centre, and at small sizes (64 px: 3 px) the thin side would leave a
// visible value on the crop's border. Values under 1/512 (the blur's far
// tails, below what any 8-bit blend can show) are set to exactly 0, so the
// mask is 0 on the crop's border and outside the region it covers.
// [size, size] float on the CPU, computed once per size.
torch::Tensor paste_mask(int size);

struct PasteOptions {
  // 0 keeps the original face, 1 pastes the enhanced one; in between the
  // two are mixed, against the frame's own pixels (the same blend as mixing
  // with the aligned original crop, without resampling the original twice):
  // pixel = original + strength * mask * (face - original).
  float strength = 1.f;
  // Shorter side of each face's detection box in frame pixels. A face under
  // small_face_size is smoothed with the reference's 3x3 kernel before
  // pasting (GPEN's rule for small faces). Empty: each face's box is taken as
  // half its crop's side in frame pixels, about what the template's face
  // covers.
  std::vector<float> face_sizes;
  float small_face_size = 100.f;
  // Each face's own mask, [N, S, S] float in [0, 1] (any device): the
  // face-parsing masks (parsing/face_parser.h) in place of paste_mask(S).
  // Undefined: every face through paste_mask(S), the rectangle.
  torch::Tensor masks;
};

// Pastes enhanced crops [N, 3, S, S] (float, [0, 255], any device) into a
// copy of `frame` ([3, H, W] uint8) and returns it, on the frame's device.
// frame_to_crop[i] is the matrix crop i was warped with (frame -> crop of
// side S). Each crop and the mask go back to the frame by the inverse
// transform (bilinear, zero border); where faces overlap, the face with the
// largest mask value gives the pixel (the first one on a tie); the pixel is
// then mask * face + (1 - mask) * original. Pixels that no mask reaches
// (mask exactly 0) are copied bit for bit. When `frame_mask` is given it
// receives the combined mask, [H, W] float on the frame's device.
// Throws gpen::Error on mismatched arguments or a strength outside [0, 1].
// When `touched` is given it receives rectangles that do not overlap and
// outside which the result is the frame unchanged (none when no face reaches
// the frame): the only pixels worth moving back. Faces are composed group by
// group within those rectangles (faces whose regions overlap form a group),
// so faces spread over a frame cost their own regions, not a box around
// them all.
struct PasteRegion {
  int x = 0, y = 0, width = 0, height = 0;
  bool empty() const { return width <= 0 || height <= 0; }
};
torch::Tensor paste_faces(const torch::Tensor& frame, const torch::Tensor& crops,
                          const std::vector<Affine>& frame_to_crop,
                          const PasteOptions& options = {},
                          torch::Tensor* frame_mask = nullptr,
                          std::vector<PasteRegion>* touched = nullptr);

}  // namespace gpen
