// The generator's fast path (ForwardPath::Fast), meant for CUDA: the same
// function as the exact path, arranged for the GPU.
//  - Activations are channels-last, so cuDNN runs its NHWC tensor-core kernels
//    without transposing every layer's input and output.
//  - Every layer's modulation comes from one matrix product up front.
//  - Between two convolutions there is one pass over memory (fused_epilogue),
//    which also scales the activations for the next convolution.
//  - Modulations are divided by their largest magnitude and the factor goes
//    into the demodulation (fp32): exact, and it keeps the convolutions'
//    fp16 outputs far from overflow, which the 1024 and 2048 models reach.
//  - to_rgb (a 1x1 convolution to 3 channels) takes per-face weights, so its
//    input needs no scaling pass; on CUDA the epilogue that makes its input
//    computes it too where it can (GPEN-512's three largest levels in fp16),
//    so those activations are neither stored for it nor read back (the last
//    level's not stored at all), elsewhere fused_to_rgb reads them once; the
//    RGB skip path stays fp32.
#include <limits>

#include <torch/torch.h>

#include "generator/fused_epilogue.h"
#include "generator/gpen_generator.h"
#include "runtime/convolve.h"

namespace gpen {
namespace {

namespace F = torch::nn::functional;
constexpr auto kChannelsLast = torch::MemoryFormat::ChannelsLast;

}  // namespace

template <typename Visit>
void GpenGenerator::for_each_modulated(Visit&& visit) const {
  visit(conv1_.conv);
  visit(to_rgb1_.conv);
  for (std::size_t k = 0; k < to_rgbs_.size(); ++k) {
    visit(convs_[2 * k].conv);
    visit(convs_[2 * k + 1].conv);
    visit(to_rgbs_[k].conv);
  }
}

void GpenGenerator::prepare_fast_path() {
  torch::NoGradGuard no_grad;
  // Fixed shapes, run many times: let cuDNN time its algorithms once per
  // shape and keep the fastest (a process-wide setting).
  if (device_.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  std::vector<torch::Tensor> weights, biases;
  for_each_modulated([&](const ModulatedConv& conv) {
    weights.push_back(conv.modulation.weight);
    biases.push_back(conv.modulation.bias);
    modulation_sizes_.push_back(conv.modulation.weight.size(0));
  });
  modulation_weight_ = torch::cat(weights, 0).contiguous();
  modulation_bias_ = torch::cat(biases, 0).contiguous();

  for (auto& layer : convs_)
    if (layer.conv.upsample)
      layer.conv.blur_taps = torch::flip(layer.conv.blur.kernel, {0, 1}).to(torch::kCPU).contiguous();
  for (auto& stage : encoder_) {
    stage.bias_fp32 = stage.activate_bias.to(torch::kFloat).contiguous();
    if (stage.downsample)
      stage.blur_taps = torch::flip(stage.blur.kernel, {0, 1}).to(torch::kCPU).contiguous();
  }
}

GpenGenerator::Modulations GpenGenerator::modulations(const torch::Tensor& style) const {
  const auto all = torch::addmm(modulation_bias_, style, modulation_weight_.t());
  const auto parts = all.split_with_sizes(modulation_sizes_, 1);
  Modulations m;
  std::size_t i = 0;
  for_each_modulated([&](const ModulatedConv& conv) {
    const auto& s = parts[i++];
    if (!conv.demodulate) {
      m.input_scale.push_back(s);
      m.demod.emplace_back();
      return;
    }
    // conv(x * s) * d = conv(x * s / peak) * (peak * d): the same output with
    // the convolution's operands at most as large as the activations.
    const auto peak = s.abs().amax(1, /*keepdim=*/true).clamp_min(std::numeric_limits<float>::min());
    m.input_scale.push_back(s / peak);
    m.demod.push_back(peak * torch::rsqrt(torch::mm(s.pow(2), conv.weight_squared.t()) + 1e-8));
  });
  return m;
}

EpilogueToRgb GpenGenerator::to_rgb_fast(const ToRgb& layer, const torch::Tensor& input_scale,
                                         const torch::Tensor& skip) const {
  EpilogueToRgb rgb;
  // [B, 3, C]: the 1x1 weight modulated per face, fp32.
  rgb.weight = (layer.weight_rows.unsqueeze(0) * input_scale.unsqueeze(1)).contiguous();
  rgb.bias = layer.bias_fp32;
  if (skip.defined()) rgb.skip = upfirdn2d(skip, layer.upsample).contiguous();
  return rgb;
}

torch::Tensor GpenGenerator::forward_fast(const torch::Tensor& faces) const {
  const auto batch = faces.size(0);
  auto x = faces.to(device_, dtype_).contiguous(kChannelsLast);

  std::vector<torch::Tensor> features;
  for (const auto& stage : encoder_) {
    if (stage.downsample) {
      // The blur through the fused kernel: cuDNN's depthwise 4x4 convolution
      // on channels-last half tensors ran at 60 GB/s, half of the whole
      // forward pass (scripts/gpu/profile_layers.py).
      EpilogueInputs blur;
      blur.conv = x;
      blur.blur = &stage.blur;
      blur.blur_taps = stage.blur_taps;
      blur.activate = false;
      x = fused_epilogue(blur).scaled;
      x = convolve(x, stage.weight, {}, /*stride=*/2);
    } else {
      x = convolve(x, stage.weight);
    }
    EpilogueInputs activate;
    activate.conv = x;
    activate.bias = stage.bias_fp32;
    x = fused_epilogue(activate).scaled;
    features.push_back(x);
  }
  const auto mods = modulations(style_vector(x));
  const auto level = [&](std::size_t i) -> const torch::Tensor& {
    return features[features.size() - 1 - i];
  };
  // What follows a styled convolution, whose modulations are at `index`
  // (and, after a level's second, its to_rgb).
  const auto epilogue = [&](const StyledConv& layer, const torch::Tensor& conv_out,
                            std::size_t index, const torch::Tensor& features_in,
                            const torch::Tensor& next_scale, std::optional<EpilogueToRgb> to_rgb) {
    EpilogueInputs e;
    e.conv = conv_out;
    if (layer.conv.upsample) {
      e.blur = &layer.conv.blur;
      e.blur_taps = layer.conv.blur_taps;
    }
    e.out_scale = mods.demod[index];
    e.features = features_in;
    e.noise_weight = layer.noise_weight_value;
    e.concat = config_.isconcat;
    e.bias = layer.bias_fp32;
    e.next_scale = next_scale;
    // The last layer's activations only feed its to_rgb.
    e.want_scaled = next_scale.defined() || !to_rgb;
    e.to_rgb = std::move(to_rgb);
    return fused_epilogue(e);
  };

  // Modulation indices: conv1 0, to_rgb1 1, then 2 + 3k (convs[2k]),
  // 3 + 3k (convs[2k + 1]) and 4 + 3k (to_rgbs[k]).
  const bool has_more = !to_rgbs_.empty();
  auto input = (constant_input_.to(torch::kFloat) * mods.input_scale[0].view({batch, -1, 1, 1}))
                   .to(dtype_)
                   .contiguous(kChannelsLast);
  auto out = convolve(input, conv1_.conv.weight, {}, 1, /*padding=*/1);
  auto result = epilogue(conv1_, out, 0, level(0), has_more ? mods.input_scale[2] : torch::Tensor(),
                         to_rgb_fast(to_rgb1_, mods.input_scale[1], torch::Tensor()));
  auto skip = result.rgb;
  x = result.scaled;
  for (std::size_t k = 0; k < to_rgbs_.size(); ++k) {
    const std::size_t index = 2 + 3 * k;
    const bool last = k + 1 == to_rgbs_.size();
    out = F::conv_transpose2d(x, convs_[2 * k].conv.weight,
                              F::ConvTranspose2dFuncOptions().stride(2));
    x = epilogue(convs_[2 * k], out, index, level(k + 1), mods.input_scale[index + 1], std::nullopt).scaled;
    out = convolve(x, convs_[2 * k + 1].conv.weight, {}, 1, /*padding=*/1);
    result = epilogue(convs_[2 * k + 1], out, index + 1, level(k + 1),
                      last ? torch::Tensor() : mods.input_scale[index + 3],
                      to_rgb_fast(to_rgbs_[k], mods.input_scale[index + 2], skip));
    skip = result.rgb;
    x = result.scaled;
  }
  return skip.contiguous();
}

}  // namespace gpen
