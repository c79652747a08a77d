#include "parsing/parse_net.h"

#include <algorithm>
#include <map>
#include <sstream>

#include <torch/torch.h>

#include "checkpoint/checkpoint.h"
#include "runtime/convolve.h"
#include "runtime/error.h"

namespace gpen {
namespace {

namespace F = torch::nn::functional;

constexpr double kLeakySlope = 0.2;  // blocks.py: LeakyReLU(0.2)
constexpr double kBatchNormEps = 1e-5;
const std::string kWhat = "ParseNet state_dict: ";

std::string shape_string(c10::IntArrayRef shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const torch::Tensor& require(const TensorMap& state, const std::string& key, int dims) {
  const auto it = state.find(key);
  if (it == state.end())
    throw ModelError("not a ParseNet state_dict: key '" + key + "' is missing");
  if (it->second.dim() != dims)
    throw ModelError(kWhat + "key '" + key + "' has shape " + shape_string(it->second.sizes()) +
                     ", expected " + std::to_string(dims) + " dimensions");
  return it->second;
}

// Blocks under `prefix` + i, counted from `first` while their conv1 exists.
int count_blocks(const TensorMap& state, const std::string& prefix, int first) {
  int n = 0;
  while (state.count(prefix + std::to_string(first + n) + ".conv1.conv2d.weight")) ++n;
  return n;
}

void add_conv(ParseNetShapes& shapes, const std::string& prefix, std::int64_t out,
              std::int64_t in, bool batch_norm) {
  shapes.push_back({prefix + ".conv2d.weight", {out, in, 3, 3}});
  if (!batch_norm) {
    shapes.push_back({prefix + ".conv2d.bias", {out}});
    return;
  }
  for (const char* name : {"weight", "bias", "running_mean", "running_var"})
    shapes.push_back({prefix + ".norm.norm." + name, {out}});
}

void add_block(ParseNetShapes& shapes, const std::string& prefix, std::int64_t in,
               std::int64_t out, bool shortcut) {
  if (shortcut) add_conv(shapes, prefix + ".shortcut_func", out, in, false);
  add_conv(shapes, prefix + ".conv1", out, in, true);
  add_conv(shapes, prefix + ".conv2", out, out, true);
}

}  // namespace

std::int64_t ParseNetConfig::clip(std::int64_t channels) const {
  return std::max(min_channels, std::min(channels, max_channels));
}

std::string ParseNetConfig::describe() const {
  std::ostringstream out;
  out << "ParseNet " << input_size() << " px, base_ch " << base_channels << ", " << down_steps
      << " down / " << up_steps << " up steps, res_depth " << res_depth << ", "
      << parsing_channels << " classes, channels " << min_channels << "-" << max_channels;
  return out.str();
}

ParseNetConfig infer_parsenet_config(const TensorMap& state) {
  ParseNetConfig config;
  const auto& head = require(state, "encoder.0.conv2d.weight", 4);
  config.base_channels = head.size(0);
  config.down_steps = count_blocks(state, "encoder.", 1);
  config.res_depth = count_blocks(state, "body.", 0);
  config.up_steps = count_blocks(state, "decoder.", 0);
  config.parsing_channels = require(state, "out_mask_conv.conv2d.weight", 4).size(0);
  if (config.down_steps < 1 || config.down_steps > 8)
    throw ModelError(kWhat + std::to_string(config.down_steps) +
                     " encoder blocks (encoder.1.conv1.conv2d.weight ...), expected 1 to 8");
  if (config.up_steps > config.down_steps)
    throw ModelError(kWhat + std::to_string(config.up_steps) + " decoder blocks for " +
                     std::to_string(config.down_steps) + " encoder blocks");
  // The clipped widths: every block's input and output and the heads' input.
  std::vector<std::int64_t> widths;
  for (const auto& [key, tensor] : state) {
    const bool block = key.rfind("encoder.", 0) == 0 || key.rfind("body.", 0) == 0 ||
                       key.rfind("decoder.", 0) == 0;
    if (block && ends_with(key, ".conv1.conv2d.weight") && tensor.dim() == 4) {
      widths.push_back(tensor.size(0));
      widths.push_back(tensor.size(1));
    }
  }
  widths.push_back(require(state, "out_mask_conv.conv2d.weight", 4).size(1));
  config.min_channels = *std::min_element(widths.begin(), widths.end());
  config.max_channels = *std::max_element(widths.begin(), widths.end());
  return config;
}

ParseNetShapes expected_parsenet_shapes(const ParseNetConfig& c) {
  ParseNetShapes shapes;
  add_conv(shapes, "encoder.0", c.base_channels, 3, false);
  std::int64_t head = c.base_channels;
  for (int i = 0; i < c.down_steps; ++i, head *= 2)
    add_block(shapes, "encoder." + std::to_string(i + 1), c.clip(head), c.clip(head * 2), true);
  for (int i = 0; i < c.res_depth; ++i)
    add_block(shapes, "body." + std::to_string(i), c.clip(head), c.clip(head), false);
  for (int i = 0; i < c.up_steps; ++i, head /= 2)
    add_block(shapes, "decoder." + std::to_string(i), c.clip(head), c.clip(head / 2), true);
  add_conv(shapes, "out_img_conv", 3, c.clip(head), false);
  add_conv(shapes, "out_mask_conv", c.parsing_channels, c.clip(head), false);
  return shapes;
}

void check_parsenet_state_dict(const TensorMap& state, const ParseNetConfig& config) {
  const auto expected = expected_parsenet_shapes(config);
  std::map<std::string, bool> known;
  for (const auto& [key, shape] : expected) {
    known[key] = true;
    const auto it = state.find(key);
    if (it == state.end())
      throw ModelError(kWhat + "key '" + key + "' is missing (expected shape " +
                       shape_string(shape) + ")");
    if (it->second.sizes() != c10::IntArrayRef(shape))
      throw ModelError(kWhat + "key '" + key + "' has shape " + shape_string(it->second.sizes()) +
                       ", expected " + shape_string(shape));
    if (!it->second.is_floating_point())
      throw ModelError(kWhat + "key '" + key + "' holds " +
                       std::string(c10::toString(it->second.scalar_type())) +
                       ", expected floating point");
  }
  const std::string counter = ".num_batches_tracked";
  for (const auto& [key, tensor] : state) {
    if (known.count(key)) continue;
    // BatchNorm's batch counter, meaningless in eval mode.
    if (ends_with(key, counter) &&
        known.count(key.substr(0, key.size() - counter.size()) + ".running_mean"))
      continue;
    throw ModelError(kWhat + "unexpected key '" + key + "' with shape " +
                     shape_string(tensor.sizes()) +
                     " (only norm_type 'bn' with LeakyReLU, the released layout, is supported)");
  }
}

ParseNet::ParseNet(const TensorMap& state, torch::Device device)
    : config_(infer_parsenet_config(state)), device_(device) {
  check_parsenet_state_dict(state, config_);
  torch::NoGradGuard no_grad;
  const auto get = [&](const std::string& key) { return state.at(key).to(torch::kDouble); };
  const auto store = [&](const torch::Tensor& t) {
    return t.to(device_, torch::kFloat).contiguous();
  };
  // Channels-last weights on the CPU, as RetinaFace: oneDNN's NHWC kernels.
  const auto store_weight = [&](const torch::Tensor& t) {
    const auto w = store(t);
    return device_.is_cpu() ? w.contiguous(torch::MemoryFormat::ChannelsLast) : w;
  };
  const auto plain = [&](const std::string& p, Scale scale) {
    Conv c;
    c.weight = store_weight(get(p + ".conv2d.weight"));
    c.bias = store(get(p + ".conv2d.bias"));
    c.scale = scale;
    return c;
  };
  // BatchNorm (eval) as PyTorch's CPU kernel applies it: conv(x) * alpha +
  // beta with alpha = gamma / sqrt(var + eps) and beta = beta - mean * alpha,
  // in float. Folding alpha into the weights would be cheaper, but the
  // released and the fixture networks' logits reach 1e5 where float
  // rounding of a folded kernel moves them by whole units, enough to flip a
  // pixel's class.
  const auto folded = [&](const std::string& p, Scale scale, bool activate) {
    const std::string bn = p + ".norm.norm.";
    const auto f = [&](const char* name) { return state.at(bn + name).to(torch::kFloat); };
    const auto alpha = f("weight") / torch::sqrt(f("running_var") + kBatchNormEps);
    const auto beta = f("bias") - f("running_mean") * alpha;
    Conv c;
    c.weight = store_weight(get(p + ".conv2d.weight"));
    c.bias = store(beta);
    c.scale_after = store(alpha).view({1, -1, 1, 1});
    c.scale = scale;
    c.activate = activate;
    return c;
  };
  const auto read_block = [&](const std::string& p, Scale scale, bool shortcut) {
    Block b;
    b.has_shortcut = shortcut;
    if (shortcut) b.shortcut = plain(p + ".shortcut_func", scale);
    b.conv1 = folded(p + ".conv1", scale == Scale::Up ? Scale::Up : Scale::None, true);
    b.conv2 = folded(p + ".conv2", scale == Scale::Down ? Scale::Down : Scale::None, false);
    return b;
  };
  head_ = plain("encoder.0", Scale::None);
  for (int i = 0; i < config_.down_steps; ++i)
    encoder_.push_back(read_block("encoder." + std::to_string(i + 1), Scale::Down, true));
  for (int i = 0; i < config_.res_depth; ++i)
    body_.push_back(read_block("body." + std::to_string(i), Scale::None, false));
  for (int i = 0; i < config_.up_steps; ++i)
    decoder_.push_back(read_block("decoder." + std::to_string(i), Scale::Up, true));
  out_image_ = plain("out_img_conv", Scale::None);
  out_mask_ = plain("out_mask_conv", Scale::None);
}

ParseNet ParseNet::load(const std::string& path, torch::Device device) {
  try {
    return ParseNet(load_checkpoint(path), device);
  } catch (const CheckpointError&) {
    throw;  // already names the file
  } catch (const ModelError& e) {
    throw ModelError("face-parsing model '" + path + "': " + e.what());
  }
}

torch::Tensor ParseNet::conv(const Conv& layer, const torch::Tensor& x) const {
  auto out = x;
  if (layer.scale == Scale::Up)
    out = F::interpolate(out, F::InterpolateFuncOptions()
                                  .scale_factor(std::vector<double>{2.0, 2.0})
                                  .mode(torch::kNearest));
  out = F::pad(out, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReflect));
  if (layer.scale_after.defined()) {
    out = convolve(out, layer.weight, {}, layer.scale == Scale::Down ? 2 : 1, 0);
    out = torch::addcmul(layer.bias.view({1, -1, 1, 1}), out, layer.scale_after);
  } else {
    out = convolve(out, layer.weight, layer.bias, layer.scale == Scale::Down ? 2 : 1, 0);
  }
  if (layer.activate) out = F::leaky_relu(out, F::LeakyReLUFuncOptions().negative_slope(kLeakySlope));
  return out;
}

torch::Tensor ParseNet::block(const Block& b, const torch::Tensor& x) const {
  const auto identity = b.has_shortcut ? conv(b.shortcut, x) : x;
  return identity + conv(b.conv2, conv(b.conv1, x));
}

ParseNetOutputs ParseNet::forward(const torch::Tensor& input) const {
  TORCH_CHECK(input.dim() == 4 && input.size(1) == 3, "ParseNet expects [N, 3, H, W], got ",
              input.sizes());
  const std::int64_t multiple = std::int64_t{1} << config_.down_steps;
  if (input.size(2) % multiple != 0 || input.size(3) % multiple != 0)
    throw Error("ParseNet: input " + std::to_string(input.size(3)) + "x" +
                std::to_string(input.size(2)) + " is not a multiple of " +
                std::to_string(multiple));
  auto x = input.to(device_, torch::kFloat);
  if (device_.is_cpu()) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  x = conv(head_, x);
  for (const auto& b : encoder_) x = block(b, x);
  auto body = x;
  for (const auto& b : body_) body = block(b, body);
  x = x + body;
  for (const auto& b : decoder_) x = block(b, x);
  return {conv(out_mask_, x).contiguous(), conv(out_image_, x).contiguous()};
}

}  // namespace gpen
