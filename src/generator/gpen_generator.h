// GPEN's FullGenerator (face_model/gpen_model.py) in LibTorch: a downsampling
// encoder whose features feed, as concatenated "noise", a StyleGAN2 generator
// driven by a style computed from the encoder's last stage.
#pragma once

#include <optional>
#include <vector>

#include <torch/types.h>

#include "checkpoint/checkpoint.h"
#include "generator/gpen_config.h"
#include "generator/transposed_conv_phases.h"
#include "generator/upfirdn.h"
#include "runtime/precision.h"

namespace gpen {

struct EpilogueToRgb;  // fused_epilogue.h

// How a forward pass computes the same function.
enum class ForwardPath {
  // Op by op, as written in the reference, with the shared-weight modulated
  // convolution (a single face's modulation scales the weight instead, as in
  // the reference, where that is cheaper). The CPU's path: its results are
  // what the fixtures check. On the CPU every convolution runs on oneDNN and
  // the transposed ones in phase form (convolve.h, transposed_conv_phases.h).
  Exact,
  // For CUDA: channels-last activations, the per-layer modulations computed
  // at once, and everything between two convolutions fused into one pass
  // (fused_epilogue). Equal to Exact up to rounding.
  Fast,
  // The reference implementation's way: a per-sample weight, modulated and
  // demodulated, in a grouped convolution. fp32 only; for the benchmark's
  // baseline and the test that the other paths compute the same function.
  Reference,
};

const char* forward_path_name(ForwardPath path);

class GpenGenerator {
 public:
  // Checks the state_dict strictly against the configuration inferred from it,
  // folds the equalized-learning-rate scales into the weights once, and moves
  // everything to `device`. `precision` must be effective (not Auto): the
  // convolutions run in it while the style path stays in fp32.
  GpenGenerator(const TensorMap& state, torch::Device device, Precision precision);

  // faces: [B, 3, size, size] RGB in [-1, 1], any float dtype, on any device.
  // Returns [B, 3, size, size] float32 on the generator's device, unclipped.
  // The default path is Fast on CUDA and Exact elsewhere.
  torch::Tensor forward(const torch::Tensor& faces) const;
  torch::Tensor forward(const torch::Tensor& faces, ForwardPath path) const;
  ForwardPath default_path() const;

  const GpenConfig& config() const { return config_; }
  torch::Device device() const { return device_; }
  Precision precision() const { return precision_; }

 private:
  struct Linear {  // EqualLinear with scale and lr_mul folded in
    torch::Tensor weight, bias;
  };
  struct ModulatedConv {
    Linear modulation;
    torch::Tensor weight;          // [out, in, k, k] ([in, out, k, k] when upsampling), scale folded in
    torch::Tensor weight_squared;  // [out, in], fp32: sum over k x k of weight^2
    bool demodulate = true;
    bool upsample = false;
    FirFilter blur;           // after a transposed convolution when upsampling
    torch::Tensor blur_taps;  // the blur's kernel flipped, fp32, host memory (fast path)
    // The upsampling convolution in phase form, on the CPU (exact path): see
    // transposed_conv_phases.h.
    std::optional<TransposedConvPhases> phases;
  };
  struct StyledConv {
    ModulatedConv conv;
    torch::Tensor noise_weight;   // [1]
    torch::Tensor activate_bias;  // [out * feat_multiplier]
    double noise_weight_value = 0.0;  // on the host: the fast path never waits for the device
    torch::Tensor bias_fp32;
  };
  struct ToRgb {
    ModulatedConv conv;
    torch::Tensor bias;       // [1, 3, 1, 1]
    torch::Tensor bias_fp32;    // [1, 3, 1, 1]
    torch::Tensor weight_rows;  // [3, in] fp32 (fast path)
    bool has_skip = false;
    FirFilter upsample;
  };
  struct EncoderStage {
    FirFilter blur;  // unused for the first, 1x1 stage
    bool downsample = false;
    torch::Tensor weight, activate_bias;
    torch::Tensor blur_taps;    // the blur's kernel flipped, fp32, host memory (fast path)
    torch::Tensor bias_fp32;
  };
  // Per-sample modulations of every modulated convolution, in forward order
  // (conv1, to_rgb1, then convs[2k], convs[2k+1], to_rgbs[k]), for the fast path.
  struct Modulations {
    std::vector<torch::Tensor> input_scale;  // [B, in] fp32: s / max|s|, or s (to_rgb)
    std::vector<torch::Tensor> demod;        // [B, out] fp32: max|s| * demodulation
  };

  // Exact and Reference paths (gpen_generator.cpp); `grouped` picks the
  // reference's per-sample grouped convolution.
  torch::Tensor forward_exact(const torch::Tensor& faces, bool grouped) const;
  torch::Tensor modulated_conv(const ModulatedConv& conv, const torch::Tensor& x,
                               const torch::Tensor& style, bool grouped) const;
  torch::Tensor styled_conv(const StyledConv& layer, const torch::Tensor& x,
                            const torch::Tensor& style, const torch::Tensor& features,
                            bool grouped) const;
  torch::Tensor to_rgb(const ToRgb& layer, const torch::Tensor& x, const torch::Tensor& style,
                       const torch::Tensor& skip, bool grouped) const;
  torch::Tensor style_vector(const torch::Tensor& encoded) const;

  // Fast path (gpen_generator_fast.cpp).
  torch::Tensor forward_fast(const torch::Tensor& faces) const;
  Modulations modulations(const torch::Tensor& style) const;
  EpilogueToRgb to_rgb_fast(const ToRgb& layer, const torch::Tensor& input_scale,
                            const torch::Tensor& skip) const;
  void prepare_fast_path();
  template <typename Visit>
  void for_each_modulated(Visit&& visit) const;

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

  // Every modulation's weight and bias stacked, so the fast path computes
  // all per-layer styles with one matrix product.
  torch::Tensor modulation_weight_, modulation_bias_;
  std::vector<std::int64_t> modulation_sizes_;
};

}  // namespace gpen
