// GPEN's FullGenerator (face_model/gpen_model.py) in LibTorch: a downsampling
// encoder whose features feed, as concatenated "noise", a StyleGAN2 generator
// driven by a style computed from the encoder's last stage.
#pragma once

#include <vector>

#include <torch/types.h>

#include "checkpoint.h"
#include "gpen_config.h"
#include "precision.h"
#include "upfirdn.h"

namespace gpen {

class GpenGenerator {
 public:
  // Checks the state_dict strictly against the configuration inferred from it,
  // folds the equalized-learning-rate scales into the weights once, and moves
  // everything to `device`. `precision` must be effective (not Auto): the
  // convolutions run in it while the style path stays in fp32.
  GpenGenerator(const TensorMap& state, torch::Device device, Precision precision);

  // faces: [B, 3, size, size] RGB in [-1, 1], any float dtype, on any device.
  // Returns [B, 3, size, size] float32 on the generator's device, unclipped.
  torch::Tensor forward(const torch::Tensor& faces) const;

  const GpenConfig& config() const { return config_; }
  torch::Device device() const { return device_; }
  Precision precision() const { return precision_; }

 private:
  struct Linear {  // EqualLinear with scale and lr_mul folded in
    torch::Tensor weight, bias;
  };
  struct ModulatedConv {
    Linear modulation;
    torch::Tensor weight;          // [out, in, k, k], scale folded in
    torch::Tensor weight_squared;  // [out, in], fp32: sum over k x k of weight^2
    bool demodulate = true;
    bool upsample = false;
    FirFilter blur;  // after a transposed convolution when upsampling
  };
  struct StyledConv {
    ModulatedConv conv;
    torch::Tensor noise_weight;   // [1]
    torch::Tensor activate_bias;  // [out * feat_multiplier]
  };
  struct ToRgb {
    ModulatedConv conv;
    torch::Tensor bias;  // [1, 3, 1, 1]
    bool has_skip = false;
    FirFilter upsample;
  };
  struct EncoderStage {
    FirFilter blur;  // unused for the first, 1x1 stage
    bool downsample = false;
    torch::Tensor weight, activate_bias;
  };

  torch::Tensor modulated_conv(const ModulatedConv& conv, const torch::Tensor& x,
                               const torch::Tensor& style) const;
  torch::Tensor styled_conv(const StyledConv& layer, const torch::Tensor& x,
                            const torch::Tensor& style, const torch::Tensor& features) const;
  torch::Tensor to_rgb(const ToRgb& layer, const torch::Tensor& x, const torch::Tensor& style,
                       const torch::Tensor& skip) const;

  GpenConfig config_;
  torch::Device device_;
  Precision precision_;
  torch::ScalarType dtype_;

  std::vector<EncoderStage> encoder_;
  Linear final_linear_;
  std::vector<Linear> style_mlp_;
  torch::Tensor constant_input_;
  StyledConv conv1_;
  ToRgb to_rgb1_;
  std::vector<StyledConv> convs_;
  std::vector<ToRgb> to_rgbs_;
};

}  // namespace gpen
