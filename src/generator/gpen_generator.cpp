#include "generator/gpen_generator.h"

#include <cmath>

#include <torch/torch.h>

#include "runtime/convolve.h"
#include "runtime/cpu_tensor_cache.h"

namespace gpen {
namespace {

namespace F = torch::nn::functional;

const double kSqrt2 = std::sqrt(2.0);

// FusedLeakyReLU: bias, leaky ReLU with slope 0.2, then a gain of sqrt(2).
// In place: every caller hands over a tensor it has just made, and on the CPU
// three fresh full-size tensors per layer cost more than the arithmetic.
torch::Tensor fused_leaky_relu(torch::Tensor x, const torch::Tensor& bias) {
  std::vector<std::int64_t> shape(x.dim(), 1);
  shape[1] = bias.size(0);
  x.add_(bias.view(shape));
  torch::leaky_relu_(x, 0.2);
  return x.mul_(kSqrt2);
}

// v [n] shaped to scale axis `axis` of a 4-D tensor.
torch::Tensor channel_vector(const torch::Tensor& v, int axis) {
  std::vector<std::int64_t> shape(4, 1);
  shape[axis] = v.size(0);
  return v.view(shape);
}

torch::Tensor pixel_norm(const torch::Tensor& x) {
  return x * torch::rsqrt(x.pow(2).mean(1, /*keepdim=*/true) + 1e-8);
}

class StateReader {
 public:
  StateReader(const TensorMap& state, torch::Device device) : state_(state), device_(device) {}

  torch::Tensor fp32(const std::string& key) const {
    return state_.at(key).to(torch::kFloat).to(device_);
  }

  // EqualLinear: weight * lr_mul / sqrt(in), bias * lr_mul.
  std::pair<torch::Tensor, torch::Tensor> equal_linear(const std::string& prefix,
                                                       double lr_mul) const {
    auto w = fp32(prefix + ".weight");
    const double scale = lr_mul / std::sqrt(static_cast<double>(w.size(1)));
    return {(w * scale).contiguous(), (fp32(prefix + ".bias") * lr_mul).contiguous()};
  }

  // EqualConv2d and ModulatedConv2d: weight / sqrt(fan_in).
  torch::Tensor scaled_conv_weight(const std::string& key) const {
    auto w = fp32(key);
    if (w.dim() == 5) w = w[0];  // ModulatedConv2d keeps a leading batch axis of 1
    const double fan_in = static_cast<double>(w.size(1) * w.size(2) * w.size(3));
    return w / std::sqrt(fan_in);
  }

 private:
  const TensorMap& state_;
  torch::Device device_;
};

}  // namespace

GpenGenerator::GpenGenerator(const TensorMap& state, torch::Device device, Precision precision)
    : config_(infer_gpen_config(state)),
      device_(device),
      precision_(precision),
      dtype_(scalar_type(precision)) {
  check_gpen_state_dict(state, config_);
  torch::NoGradGuard no_grad;
  const StateReader read(state, device_);
  auto to_compute = [this](const torch::Tensor& t) { return t.to(dtype_).contiguous(); };
  // Channels-last weights: cuDNN then picks its NHWC kernels (tensor cores, no
  // layout transposes), and oneDNN on the CPU its NHWC ones (no reorder of
  // every activation to a blocked layout and back: 12% of a GPEN-512 pass).
  auto to_conv_weight = [&](const torch::Tensor& t) {
    const auto w = to_compute(t);
    return w.contiguous(torch::MemoryFormat::ChannelsLast);
  };

  auto load_modulated = [&](const std::string& prefix, bool demodulate, bool upsample) {
    ModulatedConv conv;
    auto [mw, mb] = read.equal_linear(prefix + ".modulation", 1.0);
    conv.modulation = {mw, mb};
    auto w = read.scaled_conv_weight(prefix + ".weight");
    conv.weight_squared = w.pow(2).sum({2, 3}).contiguous();
    conv.demodulate = demodulate;
    conv.upsample = upsample;
    if (upsample) {
      // Transposed convolution takes [in, out, k, k]; the blur after it pads
      // (len(kernel) - 2) - (k - 1) split as in ModulatedConv2d.__init__.
      w = w.transpose(0, 1);
      const int p = (4 - 2) - (static_cast<int>(w.size(2)) - 1);
      conv.blur = {read.fp32(prefix + ".blur.kernel"), 1, 1, (p + 1) / 2 + 2 - 1, p / 2 + 1};
    }
    conv.weight = to_conv_weight(w);
    if (upsample && device_.is_cpu()) conv.phases.emplace(conv.weight);
    return conv;
  };
  auto load_styled = [&](const std::string& prefix, bool upsample) {
    StyledConv layer;
    layer.conv = load_modulated(prefix + ".conv", true, upsample);
    layer.noise_weight = to_compute(read.fp32(prefix + ".noise.weight"));
    layer.activate_bias = to_compute(read.fp32(prefix + ".activate.bias"));
    layer.noise_weight_value = state.at(prefix + ".noise.weight").to(torch::kDouble).item<double>();
    layer.bias_fp32 = read.fp32(prefix + ".activate.bias");
    return layer;
  };
  auto load_to_rgb = [&](const std::string& prefix, bool has_skip) {
    ToRgb layer;
    layer.conv = load_modulated(prefix + ".conv", false, false);
    layer.bias = to_compute(read.fp32(prefix + ".bias"));
    layer.bias_fp32 = read.fp32(prefix + ".bias");
    layer.weight_rows = read.scaled_conv_weight(prefix + ".conv.weight").flatten(1).contiguous();
    layer.has_skip = has_skip;
    if (has_skip) layer.upsample = {read.fp32(prefix + ".upsample.kernel"), 2, 1, 2, 1};
    return layer;
  };

  // Encoder: a 1x1 conv, then blur + stride-2 3x3 convs down to 4x4.
  {
    EncoderStage first;
    first.weight = to_conv_weight(read.scaled_conv_weight("ecd0.0.0.weight"));
    first.activate_bias = to_compute(read.fp32("ecd0.0.1.bias"));
    encoder_.push_back(first);
    for (int j = 1; j <= config_.log_size() - 2; ++j) {
      const std::string p = "ecd" + std::to_string(j) + ".0.";
      EncoderStage stage;
      stage.downsample = true;
      stage.blur = {read.fp32(p + "0.kernel"), 1, 1, 2, 2};  // p = (4 - 2) + (3 - 1)
      stage.weight = to_conv_weight(read.scaled_conv_weight(p + "1.weight"));
      stage.activate_bias = to_compute(read.fp32(p + "2.bias"));
      encoder_.push_back(stage);
    }
  }
  {
    auto [w, b] = read.equal_linear("final_linear.0", 1.0);
    final_linear_ = {w, b};
  }
  for (int i = 1; i <= config_.n_mlp; ++i) {
    auto [w, b] = read.equal_linear("generator.style." + std::to_string(i), 0.01);
    style_mlp_.push_back({w, b});
  }
  constant_input_ = to_compute(read.fp32("generator.input.input"));
  conv1_ = load_styled("generator.conv1", false);
  to_rgb1_ = load_to_rgb("generator.to_rgb1", false);
  for (int k = 0; k < config_.log_size() - 2; ++k) {
    convs_.push_back(load_styled("generator.convs." + std::to_string(2 * k), true));
    convs_.push_back(load_styled("generator.convs." + std::to_string(2 * k + 1), false));
    to_rgbs_.push_back(load_to_rgb("generator.to_rgbs." + std::to_string(k), true));
  }
  prepare_fast_path();
}

const char* forward_path_name(ForwardPath path) {
  switch (path) {
    case ForwardPath::Exact: return "exact";
    case ForwardPath::Fast: return "fast";
    case ForwardPath::Reference: return "reference";
  }
  return "?";
}

ForwardPath GpenGenerator::default_path() const {
  return device_.is_cuda() ? ForwardPath::Fast : ForwardPath::Exact;
}

torch::Tensor GpenGenerator::forward(const torch::Tensor& faces) const {
  return forward(faces, default_path());
}

torch::Tensor GpenGenerator::forward(const torch::Tensor& faces, ForwardPath path) const {
  TORCH_CHECK(faces.dim() == 4 && faces.size(1) == 3 && faces.size(2) == config_.size &&
                  faces.size(3) == config_.size,
              "GPEN input must be [B, 3, ", config_.size, ", ", config_.size, "], got ",
              faces.sizes());
  torch::InferenceMode inference;
  const CpuTensorCacheScope cache(device_.is_cpu());
  switch (path) {
    case ForwardPath::Fast: return forward_fast(faces);
    case ForwardPath::Reference:
      TORCH_CHECK(dtype_ == torch::kFloat, "the reference path runs in fp32 only");
      return forward_exact(faces, /*grouped=*/true);
    case ForwardPath::Exact: break;
  }
  return forward_exact(faces, /*grouped=*/false);
}

// Modulation is applied to the input and demodulation to the output, with one
// shared weight for the whole batch: the same arithmetic as the reference's
// per-sample grouped convolution, but one dense convolution for B faces.
// `grouped` runs the reference's form instead (fp32).
torch::Tensor GpenGenerator::modulated_conv(const ModulatedConv& conv, const torch::Tensor& x,
                                            const torch::Tensor& style, bool grouped) const {
  const auto batch = x.size(0);
  const auto s = torch::addmm(conv.modulation.bias, style, conv.modulation.weight.t());
  torch::Tensor out;
  if (grouped) {
    // weight[b] = w * s[b] (over input channels), demodulated per output channel.
    const auto w = conv.upsample ? conv.weight.transpose(0, 1) : conv.weight;  // [out, in, k, k]
    const auto out_channels = w.size(0), in_channels = w.size(1), k = w.size(2);
    auto weight = w.unsqueeze(0) * s.view({batch, 1, in_channels, 1, 1});
    if (conv.demodulate)
      weight = weight * torch::rsqrt(weight.pow(2).sum({2, 3, 4}) + 1e-8)
                            .view({batch, out_channels, 1, 1, 1});
    const auto input = x.reshape({1, batch * in_channels, x.size(2), x.size(3)});
    if (conv.upsample) {
      weight = weight.transpose(1, 2).reshape({batch * in_channels, out_channels, k, k});
      out = F::conv_transpose2d(
          input, weight, F::ConvTranspose2dFuncOptions().stride(2).groups(batch));
    } else {
      weight = weight.reshape({batch * out_channels, in_channels, k, k});
      out = F::conv2d(input, weight, F::Conv2dFuncOptions().padding(k / 2).groups(batch));
    }
    out = out.view({batch, out_channels, out.size(2), out.size(3)});
    if (conv.upsample) out = upfirdn2d(out, conv.blur);
    return out;
  }
  const auto demod = conv.demodulate
                         ? torch::rsqrt(torch::mm(s.pow(2), conv.weight_squared.t()) + 1e-8)
                         : torch::Tensor();
  // One face whose activations outnumber the weights (every layer from 64x64
  // up): scaling the weight per input and output channel, as the reference
  // does, costs less than two passes over the activations.
  const bool scale_weight = batch == 1 && conv.weight.numel() < x[0].numel();
  torch::Tensor in_scale, out_scale;  // per channel, on the weight; undefined: none
  auto xs = x;
  if (scale_weight) {
    in_scale = s[0].to(dtype_);
    if (demod.defined()) out_scale = demod[0].to(dtype_);
  } else {
    xs = x * s.to(dtype_).view({batch, -1, 1, 1});
  }
  if (conv.phases) {
    out = (*conv.phases)(xs, in_scale, out_scale);
  } else {
    // The weight is [out, in, k, k], or [in, out, k, k] when upsampling.
    const auto in_axis = conv.upsample ? 0 : 1, out_axis = 1 - in_axis;
    auto weight = conv.weight;
    if (in_scale.defined()) weight = weight * channel_vector(in_scale, in_axis);
    if (out_scale.defined()) weight = weight * channel_vector(out_scale, out_axis);
    out = conv.upsample
              ? F::conv_transpose2d(xs, weight, F::ConvTranspose2dFuncOptions().stride(2))
              : convolve(xs, weight, {}, 1, conv.weight.size(2) / 2);
  }
  if (demod.defined() && !out_scale.defined()) out.mul_(demod.to(dtype_).view({batch, -1, 1, 1}));
  if (conv.upsample) out = upfirdn2d(out, conv.blur);
  return out;
}

torch::Tensor GpenGenerator::styled_conv(const StyledConv& layer, const torch::Tensor& x,
                                         const torch::Tensor& style,
                                         const torch::Tensor& features, bool grouped) const {
  auto out = modulated_conv(layer.conv, x, style, grouped);
  // GPEN's NoiseInjection with isconcat: the "noise" is the encoder's features.
  if (config_.isconcat) {
    // Scaled where it lands: one full-size tensor fewer than scaling first.
    const auto channels = out.size(1);
    out = torch::cat({out, features}, 1);
    out.narrow(1, channels, features.size(1)).mul_(layer.noise_weight);
  } else {
    out = out + layer.noise_weight * features;
  }
  return fused_leaky_relu(out, layer.activate_bias);
}

torch::Tensor GpenGenerator::to_rgb(const ToRgb& layer, const torch::Tensor& x,
                                    const torch::Tensor& style, const torch::Tensor& skip,
                                    bool grouped) const {
  auto out = modulated_conv(layer.conv, x, style, grouped) + layer.bias;
  if (layer.has_skip) out = out + upfirdn2d(skip, layer.upsample);
  return out;
}

torch::Tensor GpenGenerator::style_vector(const torch::Tensor& encoded) const {
  // The style path is small and sensitive; it stays in fp32 whatever the precision.
  const auto batch = encoded.size(0);
  auto style = torch::mm(encoded.reshape({batch, -1}).to(torch::kFloat), final_linear_.weight.t());
  style = fused_leaky_relu(style, final_linear_.bias);
  style = pixel_norm(style);
  for (const auto& layer : style_mlp_)
    style = fused_leaky_relu(torch::mm(style, layer.weight.t()), layer.bias);
  return style;
}

torch::Tensor GpenGenerator::forward_exact(const torch::Tensor& faces, bool grouped) const {
  const auto batch = faces.size(0);
  auto x = faces.to(device_, dtype_);
  if (device_.is_cpu() && !grouped) x = x.contiguous(torch::MemoryFormat::ChannelsLast);

  std::vector<torch::Tensor> features;
  for (const auto& stage : encoder_) {
    if (stage.downsample) {
      x = upfirdn2d(x, stage.blur);
      x = convolve(x, stage.weight, {}, /*stride=*/2);
    } else {
      x = convolve(x, stage.weight);
    }
    x = fused_leaky_relu(x, stage.activate_bias);
    features.push_back(x);
  }
  const auto style = style_vector(x);

  // Features from coarse (4x4) to fine; each resolution feeds both its convs.
  const auto level = [&](std::size_t i) -> const torch::Tensor& {
    return features[features.size() - 1 - i];
  };
  auto out = constant_input_.expand({batch, -1, -1, -1});
  out = styled_conv(conv1_, out, style, level(0), grouped);
  auto skip = to_rgb(to_rgb1_, out, style, torch::Tensor(), grouped);
  for (std::size_t k = 0; k < to_rgbs_.size(); ++k) {
    out = styled_conv(convs_[2 * k], out, style, level(k + 1), grouped);
    out = styled_conv(convs_[2 * k + 1], out, style, level(k + 1), grouped);
    skip = to_rgb(to_rgbs_[k], out, style, skip, grouped);
  }
  return skip.to(torch::kFloat).contiguous();
}

}  // namespace gpen
