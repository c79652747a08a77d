// The face-parsing network the reference pastes restored faces through
// (GPEN's face_parse/parse_model.py, ParseNet by chaofengc): an encoder of
// residual blocks that halve the size, a body of residual blocks, a decoder
// that doubles it back, and two 3x3 heads (19 parsing classes, an image).
// Every convolution is reflection-padded; BatchNorm is in eval mode.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "checkpoint/checkpoint.h"

namespace gpen {

// ParseNet's hyperparameters as its state_dict shows them. The released
// ParseNet-latest.pth is ParseNet(512, 512, 32, 64, 19, norm_type='bn',
// relu_type='LeakyReLU', ch_range=[32, 256]): base_channels 64, 4 down and
// 4 up steps, res_depth 10, parsing_channels 19.
struct ParseNetConfig {
  std::int64_t base_channels = 0;     // encoder.0's width (not clipped)
  int down_steps = 0;                 // log2(in_size / min_feat_size)
  int up_steps = 0;                   // log2(out_size / min_feat_size)
  int res_depth = 0;                  // residual blocks of the body
  std::int64_t parsing_channels = 0;  // classes of the parsing head
  // ch_range as far as the weights tell it: the narrowest and widest clipped
  // widths (a wider range that clips nothing more gives the same network).
  std::int64_t min_channels = 0, max_channels = 0;

  // The side the reference's FaceParse resizes faces to: in_size. The
  // weights do not hold it; both ParseNets the reference uses have
  // min_feat_size 32, so it is 32 << down_steps (512 for the released model).
  int input_size() const { return 32 << down_steps; }
  std::int64_t clip(std::int64_t channels) const;
  std::string describe() const;
};

using ParseNetShapes = std::vector<std::pair<std::string, std::vector<std::int64_t>>>;

// Infers the configuration from a state_dict's key names and shapes; throws
// ModelError when it does not look like a ParseNet (naming the key).
ParseNetConfig infer_parsenet_config(const TensorMap& state);

// Every key of that configuration's state_dict with its shape
// (`num_batches_tracked` excluded: accepted and ignored when present).
ParseNetShapes expected_parsenet_shapes(const ParseNetConfig& config);

// Strict check: throws ModelError naming the first missing, unexpected or
// mis-shaped key with the shapes involved.
void check_parsenet_state_dict(const TensorMap& state, const ParseNetConfig& config);

struct ParseNetOutputs {
  torch::Tensor logits;  // [N, parsing_channels, H', W']: out_mask_conv
  torch::Tensor image;   // [N, 3, H', W']: out_img_conv
};

class ParseNet {
 public:
  // Checks the state_dict strictly, folds its BatchNorms, on `device`.
  ParseNet(const TensorMap& state, torch::Device device);
  // Reads a checkpoint file; errors name the file.
  static ParseNet load(const std::string& path, torch::Device device);

  // input: [N, 3, H, W] float RGB in [-1, 1] (FaceParse.img2tensor), on any
  // device; H and W multiples of 2^down_steps.
  ParseNetOutputs forward(const torch::Tensor& input) const;

  const ParseNetConfig& config() const { return config_; }
  torch::Device device() const { return device_; }

 private:
  enum class Scale { None, Down, Up };
  // ConvLayer: [nearest 2x up,] reflection pad, conv (stride 2 down), bias
  // or BatchNorm (x * scale_after + bias), [LeakyReLU 0.2].
  struct Conv {
    torch::Tensor weight, bias, scale_after;
    Scale scale = Scale::None;
    bool activate = false;
  };
  struct Block {  // ResidualBlock
    bool has_shortcut = false;
    Conv shortcut, conv1, conv2;
  };

  torch::Tensor conv(const Conv& layer, const torch::Tensor& x) const;
  torch::Tensor block(const Block& b, const torch::Tensor& x) const;

  ParseNetConfig config_;
  torch::Device device_;
  Conv head_;  // encoder.0
  std::vector<Block> encoder_, body_, decoder_;
  Conv out_image_, out_mask_;
};

}  // namespace gpen
