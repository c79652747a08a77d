// The background super-resolution of the reference's --use_sr
// (sr_model/real_esrnet.py, rrdbnet_arch.py from Real-ESRGAN): RRDBNet, a
// trunk of residual-in-residual dense blocks and two nearest 2x upsamplings;
// x2 (and x1) pixel-unshuffle the input first. Weights under `params_ema`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "checkpoint/checkpoint.h"

namespace gpen {

// Hyperparameters as the state_dict shows them. The released
// realesrnet_x2/x4.pth: num_feat 32, num_block 23, num_grow_ch 32.
struct RrdbNetConfig {
  int scale = 0;  // 1, 2 or 4: from conv_first's input channels (48, 12, 3)
  std::int64_t num_feat = 0, num_block = 0, num_grow_ch = 0, out_channels = 0;
  std::string describe() const;
};

using RrdbNetShapes = std::vector<std::pair<std::string, std::vector<std::int64_t>>>;

RrdbNetConfig infer_rrdbnet_config(const TensorMap& state);  // throws ModelError
RrdbNetShapes expected_rrdbnet_shapes(const RrdbNetConfig& config);
// Strict: throws ModelError naming the first missing, unexpected or mis-shaped key.
void check_rrdbnet_state_dict(const TensorMap& state, const RrdbNetConfig& config);

class RealEsrNet {
 public:
  RealEsrNet(const TensorMap& state, torch::Device device);
  // Reads a checkpoint ({'params_ema': ...} or a plain state_dict); errors
  // name the file.
  static RealEsrNet load(const std::string& path, torch::Device device);

  // The network: [N, 3, H, W] float RGB in [0, 1] -> [N, 3, H s, W s], not
  // clamped. x2 needs even sizes, x1 multiples of 4.
  torch::Tensor forward(const torch::Tensor& input) const;

  // RealESRNet.process before clamping: the image [1, 3, H, W] float RGB in
  // [0, 1] padded on the bottom and right to the multiple the unshuffle
  // needs (reflect), through the network whole (tile_size 0) or in tiles of
  // tile_size px, each cut widened by tile_pad on every side (clipped to
  // the image) and only its inner part kept; cropped to [1, 3, H s, W s].
  // (The reference crops the padding in input pixels from the output, which
  // leaves a row or column of padding at odd sizes; this crops it all.)
  torch::Tensor upscale(const torch::Tensor& image, int tile_size = 0, int tile_pad = 10) const;

  const RrdbNetConfig& config() const { return config_; }
  int scale() const { return config_.scale; }
  torch::Device device() const { return device_; }

 private:
  struct Conv {
    torch::Tensor weight, bias;
  };
  struct DenseBlock {
    Conv conv[5];
  };
  torch::Tensor conv(const Conv& c, const torch::Tensor& x, bool activate) const;
  torch::Tensor dense(const DenseBlock& b, const torch::Tensor& x) const;

  RrdbNetConfig config_;
  torch::Device device_;
  Conv first_, body_conv_, up1_, up2_, hr_, last_;
  std::vector<std::vector<DenseBlock>> body_;  // num_block RRDBs of three blocks
};

// The reference's 8-bit picture of an upscale() result: clamped to [0, 1],
// x 255, rounded (not truncated) -> [1, 3, H, W] uint8.
torch::Tensor super_resolution_to_uint8(const torch::Tensor& output);

}  // namespace gpen
