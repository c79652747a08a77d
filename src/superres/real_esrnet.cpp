#include "superres/real_esrnet.h"

#include <algorithm>
#include <map>
#include <sstream>

#include <torch/torch.h>

#include "runtime/convolve.h"
#include "runtime/error.h"

namespace gpen {
namespace {

namespace F = torch::nn::functional;

constexpr double kSlope = 0.2;
const std::string kWhat = "RRDBNet state_dict: ";
const char* const kTrunk[] = {"conv_body", "conv_up1", "conv_up2", "conv_hr"};

std::string shape_string(c10::IntArrayRef shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

const torch::Tensor& require(const TensorMap& state, const std::string& key) {
  const auto it = state.find(key);
  if (it == state.end())
    throw ModelError("not a RealESRNet (RRDBNet) state_dict: key '" + key + "' is missing");
  if (it->second.dim() != 4)
    throw ModelError(kWhat + "key '" + key + "' has shape " + shape_string(it->second.sizes()) +
                     ", expected 4 dimensions");
  return it->second;
}

void add_conv(RrdbNetShapes& shapes, const std::string& key, std::int64_t out, std::int64_t in) {
  shapes.push_back({key + ".weight", {out, in, 3, 3}});
  shapes.push_back({key + ".bias", {out}});
}

// The inverse of pixel_shuffle (arch_util.pixel_unshuffle).
torch::Tensor unshuffle_pixels(const torch::Tensor& x, std::int64_t s) {
  const auto b = x.size(0), c = x.size(1), h = x.size(2) / s, w = x.size(3) / s;
  return x.reshape({b, c, h, s, w, s}).permute({0, 1, 3, 5, 2, 4}).reshape({b, c * s * s, h, w});
}

torch::Tensor upsample2(const torch::Tensor& x) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .scale_factor(std::vector<double>{2.0, 2.0})
                               .mode(torch::kNearest));
}

}  // namespace

std::string RrdbNetConfig::describe() const {
  std::ostringstream out;
  out << "RealESRNet x" << scale << " (RRDBNet num_feat " << num_feat << ", num_block "
      << num_block << ", num_grow_ch " << num_grow_ch << ")";
  return out.str();
}

RrdbNetConfig infer_rrdbnet_config(const TensorMap& state) {
  RrdbNetConfig c;
  const auto& first = require(state, "conv_first.weight");
  c.num_feat = first.size(0);
  switch (first.size(1)) {
    case 3: c.scale = 4; break;
    case 12: c.scale = 2; break;
    case 48: c.scale = 1; break;
    default:
      throw ModelError(kWhat + "conv_first.weight has " + std::to_string(first.size(1)) +
                       " input channels: not 3 (x4), 12 (x2) or 48 (x1) for RGB");
  }
  while (state.count("body." + std::to_string(c.num_block) + ".rdb1.conv1.weight")) ++c.num_block;
  if (c.num_block == 0) require(state, "body.0.rdb1.conv1.weight");
  c.num_grow_ch = require(state, "body.0.rdb1.conv1.weight").size(0);
  c.out_channels = require(state, "conv_last.weight").size(0);
  return c;
}

RrdbNetShapes expected_rrdbnet_shapes(const RrdbNetConfig& c) {
  RrdbNetShapes shapes;
  const std::int64_t in = 3 * (c.scale == 2 ? 4 : c.scale == 1 ? 16 : 1);
  add_conv(shapes, "conv_first", c.num_feat, in);
  for (std::int64_t b = 0; b < c.num_block; ++b)
    for (int r = 1; r <= 3; ++r)
      for (int k = 1; k <= 5; ++k)
        add_conv(shapes,
                 "body." + std::to_string(b) + ".rdb" + std::to_string(r) + ".conv" +
                     std::to_string(k),
                 k == 5 ? c.num_feat : c.num_grow_ch, c.num_feat + (k - 1) * c.num_grow_ch);
  for (const char* name : kTrunk) add_conv(shapes, name, c.num_feat, c.num_feat);
  add_conv(shapes, "conv_last", c.out_channels, c.num_feat);
  return shapes;
}

void check_rrdbnet_state_dict(const TensorMap& state, const RrdbNetConfig& config) {
  const auto expected = expected_rrdbnet_shapes(config);
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
      throw ModelError(kWhat + "key '" + key + "' is not floating point");
  }
  for (const auto& [key, tensor] : state)
    if (!known.count(key))
      throw ModelError(kWhat + "unexpected key '" + key + "' with shape " +
                       shape_string(tensor.sizes()));
  if (config.out_channels != 3)
    throw ModelError(kWhat + std::to_string(config.out_channels) + " output channels, not RGB");
}

RealEsrNet::RealEsrNet(const TensorMap& state, torch::Device device)
    : config_(infer_rrdbnet_config(state)), device_(device) {
  check_rrdbnet_state_dict(state, config_);
  torch::NoGradGuard no_grad;
  const auto read = [&](const std::string& key) {
    auto w = state.at(key + ".weight").to(device_, torch::kFloat).contiguous();
    if (device_.is_cpu()) w = w.contiguous(torch::MemoryFormat::ChannelsLast);
    return Conv{w, state.at(key + ".bias").to(device_, torch::kFloat).contiguous()};
  };
  first_ = read("conv_first");
  for (std::int64_t b = 0; b < config_.num_block; ++b) {
    std::vector<DenseBlock> rrdb(3);
    for (int r = 0; r < 3; ++r)
      for (int k = 0; k < 5; ++k)
        rrdb[r].conv[k] = read("body." + std::to_string(b) + ".rdb" + std::to_string(r + 1) +
                               ".conv" + std::to_string(k + 1));
    body_.push_back(std::move(rrdb));
  }
  body_conv_ = read("conv_body");
  up1_ = read("conv_up1");
  up2_ = read("conv_up2");
  hr_ = read("conv_hr");
  last_ = read("conv_last");
}

RealEsrNet RealEsrNet::load(const std::string& path, torch::Device device) {
  try {
    return RealEsrNet(load_checkpoint(path), device);
  } catch (const CheckpointError&) {
    throw;  // names the file already
  } catch (const ModelError& e) {
    throw ModelError("super-resolution model '" + path + "': " + e.what());
  }
}

torch::Tensor RealEsrNet::conv(const Conv& c, const torch::Tensor& x, bool activate) const {
  auto out = convolve(x, c.weight, c.bias, 1, 1);
  return activate ? F::leaky_relu(out, F::LeakyReLUFuncOptions().negative_slope(kSlope)) : out;
}

torch::Tensor RealEsrNet::dense(const DenseBlock& b, const torch::Tensor& x) const {
  std::vector<torch::Tensor> features{x};
  for (int k = 0; k < 4; ++k) features.push_back(conv(b.conv[k], torch::cat(features, 1), true));
  return conv(b.conv[4], torch::cat(features, 1), false) * 0.2 + x;
}

torch::Tensor RealEsrNet::forward(const torch::Tensor& input) const {
  TORCH_CHECK(input.dim() == 4 && input.size(1) == 3, "RealESRNet expects [N, 3, H, W], got ",
              input.sizes());
  const std::int64_t unshuffle = config_.scale == 2 ? 2 : config_.scale == 1 ? 4 : 1;
  if (input.size(2) % unshuffle != 0 || input.size(3) % unshuffle != 0)
    throw Error("RealESRNet x" + std::to_string(config_.scale) + ": input sides must be multiples of " +
                std::to_string(unshuffle));
  auto x = input.to(device_, torch::kFloat);
  if (unshuffle > 1) x = unshuffle_pixels(x, unshuffle);
  if (device_.is_cpu()) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  auto feat = conv(first_, x, false);
  auto trunk = feat;
  for (const auto& rrdb : body_) {
    auto out = trunk;
    for (const auto& block : rrdb) out = dense(block, out);
    trunk = out * 0.2 + trunk;
  }
  feat = feat + conv(body_conv_, trunk, false);
  feat = conv(up1_, upsample2(feat), true);
  feat = conv(up2_, upsample2(feat), true);
  return conv(last_, conv(hr_, feat, true), false).contiguous();
}

torch::Tensor RealEsrNet::upscale(const torch::Tensor& image, int tile_size, int tile_pad) const {
  TORCH_CHECK(image.dim() == 4 && image.size(0) == 1 && image.size(1) == 3,
              "RealESRNet::upscale expects [1, 3, H, W], got ", image.sizes());
  if (tile_size < 0 || tile_pad < 0) throw Error("RealESRNet: negative tile size or pad");
  const std::int64_t s = config_.scale;
  const std::int64_t height = image.size(2), width = image.size(3);
  const std::int64_t mod = s == 2 ? 2 : s == 1 ? 4 : 1;
  auto img = image.to(device_, torch::kFloat);
  const std::int64_t h_pad = (mod - height % mod) % mod, w_pad = (mod - width % mod) % mod;
  if (h_pad || w_pad)
    img = F::pad(img, F::PadFuncOptions({0, w_pad, 0, h_pad}).mode(torch::kReflect));
  torch::Tensor output;
  if (tile_size == 0) {
    output = forward(img);
  } else {
    const std::int64_t h = img.size(2), w = img.size(3), t = tile_size;
    output = torch::zeros({1, 3, h * s, w * s}, img.options());
    for (std::int64_t y0 = 0; y0 < h; y0 += t) {
      for (std::int64_t x0 = 0; x0 < w; x0 += t) {
        const std::int64_t x1 = std::min(x0 + t, w), y1 = std::min(y0 + t, h);
        const std::int64_t px0 = std::max<std::int64_t>(x0 - tile_pad, 0),
                           px1 = std::min<std::int64_t>(x1 + tile_pad, w),
                           py0 = std::max<std::int64_t>(y0 - tile_pad, 0),
                           py1 = std::min<std::int64_t>(y1 + tile_pad, h);
        const auto tile = forward(img.slice(2, py0, py1).slice(3, px0, px1));
        const std::int64_t ox = (x0 - px0) * s, oy = (y0 - py0) * s;
        output.slice(2, y0 * s, y1 * s)
            .slice(3, x0 * s, x1 * s)
            .copy_(tile.slice(2, oy, oy + (y1 - y0) * s).slice(3, ox, ox + (x1 - x0) * s));
      }
    }
  }
  return output.slice(2, 0, height * s).slice(3, 0, width * s).contiguous();
}

torch::Tensor super_resolution_to_uint8(const torch::Tensor& output) {
  return (output.clamp(0, 1) * 255.0).round().to(torch::kByte);
}

}  // namespace gpen
