// The paste mask the reference makes from a restored face
// (face_enhancement.py: mask_postprocess(faceparser.process(ef)[0] / 255.),
// resized to GPEN's size): the face resized to the parser's size, ParseNet,
// argmax, the colour map (background, hat and cloth out, every other class
// in), a 26-pixel border cleared and two Gaussian blurs (101 taps, sigma 4)
// in the parser's pixels, then the mask resized to the face's size. Batched
// over faces, on the parser's device.
#pragma once

#include <string>

#include <torch/types.h>

#include "checkpoint/checkpoint.h"
#include "parsing/parse_net.h"

namespace gpen {

// FaceParse.tenor2mask: argmax of logits [N, C, H, W] over C, then the
// colour map -> [N, H, W] uint8, 0 (classes 0 background, 14 hat, 18 cloth)
// or 255. Throws Error unless C is the colour map's 19 classes.
torch::Tensor parse_classes_to_mask(const torch::Tensor& logits);

// FaceEnhancement.mask_postprocess of a [N, H, W] float mask in [0, 1]: 26
// pixels on every side set to 0, then cv2.GaussianBlur((101, 101), 4) twice
// (reflect-101 border). Returns float [N, H, W].
torch::Tensor postprocess_parse_mask(const torch::Tensor& mask);

class FaceParser {
 public:
  // Loads a ParseNet checkpoint (strictly; errors name the file) or takes
  // its tensors, on `device`.
  FaceParser(const std::string& model_path, torch::Device device);
  FaceParser(const TensorMap& state, torch::Device device);

  // The side faces are parsed at (the reference's FaceParse.size: 512 for
  // the released model).
  int parse_size() const { return net_.config().input_size(); }
  torch::Device device() const { return net_.device(); }
  const ParseNet& net() const { return net_; }

  // The network's input for faces [N, 3, S, S] float RGB in [0, 255] (any
  // device): each face taken as the 8-bit picture it is written as (rounded),
  // resized to parse_size() (bilinear, as cv2.resize; rounded again, as
  // cv2.resize of a uint8 image), then /255 * 2 - 1.
  torch::Tensor network_input(const torch::Tensor& faces) const;

  // The paste masks of faces [N, 3, S, S] float RGB in [0, 255]: [N, S, S]
  // float in [0, 1] on the parser's device, what paste-back blends each
  // face with in place of the rectangle mask.
  torch::Tensor paste_masks(const torch::Tensor& faces) const;

 private:
  ParseNet net_;
};

}  // namespace gpen
