#include "faces/retinaface.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include <torch/torch.h>

#include "runtime/convolve.h"
#include "runtime/cpu_tensor_cache.h"
#include "runtime/error.h"

namespace gpen {
namespace {

namespace F = torch::nn::functional;

// --- Architecture tables (models/net.py, torchvision resnet50, cfg_*) -------

struct BackboneSpec {
  std::int64_t in_channel;   // FPN inputs are 2x, 4x and 8x this
  std::int64_t out_channel;  // FPN and SSH width
};

BackboneSpec spec_of(RetinaFaceBackbone backbone) {
  return backbone == RetinaFaceBackbone::ResNet50 ? BackboneSpec{256, 256} : BackboneSpec{32, 64};
}

// FPN and SSH use leaky ReLU 0.1 on narrow networks and plain ReLU otherwise.
double neck_slope(const BackboneSpec& spec) { return spec.out_channel <= 64 ? 0.1 : 0.0; }

// MobileNetV1 (x0.25): the first block of stage 1 is conv_bn, the others are
// conv_dw (depthwise 3x3 then pointwise 1x1), all with leaky ReLU 0.1.
struct MobileBlock {
  std::int64_t in, out, stride;
};
const std::array<std::vector<MobileBlock>, 3> kMobileStages = {{
    {{3, 8, 2}, {8, 16, 1}, {16, 32, 2}, {32, 32, 1}, {32, 64, 2}, {64, 64, 1}},
    {{64, 128, 2}, {128, 128, 1}, {128, 128, 1}, {128, 128, 1}, {128, 128, 1}, {128, 128, 1}},
    {{128, 256, 2}, {256, 256, 1}},
}};
constexpr double kMobileSlope = 0.1;

// ResNet50: bottleneck counts and widths of layer1-4; the stride sits on the
// 3x3 convolution of each layer's first block (torchvision's v1.5).
constexpr std::array<int, 4> kResNetBlocks = {3, 4, 6, 3};
constexpr std::array<std::int64_t, 4> kResNetWidths = {64, 128, 256, 512};
constexpr std::int64_t kResNetExpansion = 4;

// Output channels of the fused head per level: 2 anchors x (4 box + 2 class + 10 landmark).
constexpr std::int64_t kAnchors = 2;

const std::array<const char*, 5> kSshConvs = {"conv3X3", "conv5X5_1", "conv5X5_2", "conv7X7_2",
                                              "conv7x7_3"};

std::string level_name(const char* prefix, int level) { return prefix + std::to_string(level); }

std::string shape_string(c10::IntArrayRef shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// --- Expected shapes ---------------------------------------------------------

class ShapeTable {
 public:
  void conv(const std::string& key, std::int64_t out, std::int64_t in, std::int64_t k) {
    shapes_[key + ".weight"] = {out, in, k, k};
  }
  void batch_norm(const std::string& key, std::int64_t channels) {
    for (const char* name : {"weight", "bias", "running_mean", "running_var"})
      shapes_[key + "." + name] = {channels};
  }
  // Sequential(Conv2d, BatchNorm2d[, activation]) as conv_bn and friends build it.
  void conv_bn(const std::string& prefix, std::int64_t out, std::int64_t in, std::int64_t k) {
    conv(prefix + ".0", out, in, k);
    batch_norm(prefix + ".1", out);
  }
  void conv_with_bias(const std::string& key, std::int64_t out, std::int64_t in) {
    conv(key, out, in, 1);
    shapes_[key + ".bias"] = {out};
  }
  ShapeMap take() { return std::move(shapes_); }

 private:
  ShapeMap shapes_;
};

void add_mobilenet_shapes(ShapeTable& table) {
  for (std::size_t s = 0; s < kMobileStages.size(); ++s) {
    for (std::size_t b = 0; b < kMobileStages[s].size(); ++b) {
      const auto& block = kMobileStages[s][b];
      const std::string p = "body.stage" + std::to_string(s + 1) + "." + std::to_string(b);
      if (s == 0 && b == 0) {
        table.conv_bn(p, block.out, block.in, 3);
        continue;
      }
      table.conv(p + ".0", block.in, 1, 3);  // depthwise
      table.batch_norm(p + ".1", block.in);
      table.conv(p + ".3", block.out, block.in, 1);  // pointwise
      table.batch_norm(p + ".4", block.out);
    }
  }
}

void add_resnet_shapes(ShapeTable& table) {
  table.conv("body.conv1", 64, 3, 7);
  table.batch_norm("body.bn1", 64);
  std::int64_t in = 64;
  for (std::size_t l = 0; l < kResNetBlocks.size(); ++l) {
    const auto width = kResNetWidths[l];
    const auto out = width * kResNetExpansion;
    for (int b = 0; b < kResNetBlocks[l]; ++b) {
      const std::string p = "body.layer" + std::to_string(l + 1) + "." + std::to_string(b);
      table.conv(p + ".conv1", width, in, 1);
      table.batch_norm(p + ".bn1", width);
      table.conv(p + ".conv2", width, width, 3);
      table.batch_norm(p + ".bn2", width);
      table.conv(p + ".conv3", out, width, 1);
      table.batch_norm(p + ".bn3", out);
      if (b == 0) {
        table.conv(p + ".downsample.0", out, in, 1);
        table.batch_norm(p + ".downsample.1", out);
      }
      in = out;
    }
  }
}

// --- Loading -----------------------------------------------------------------

// Reads convolutions and their BatchNorms from a checked state_dict and folds
// them: y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta becomes one
// convolution with scaled weights and a bias. Folded in double, stored fp32.
class Folder {
 public:
  Folder(const TensorMap& state, torch::Device device) : state_(state), device_(device) {}

  // Written {stride, padding, groups, activate, negative_slope} below.
  struct Options {
    std::int64_t stride = 1, padding = 0, groups = 1;
    bool activate = false;
    double negative_slope = 0.0;
  };

  template <class Conv>
  Conv conv_bn(const std::string& conv_key, const std::string& bn_key, const Options& o) const {
    constexpr double kEps = 1e-5;
    const auto weight = get(conv_key + ".weight");
    const auto scale = get(bn_key + ".weight") / torch::sqrt(get(bn_key + ".running_var") + kEps);
    const auto bias = get(bn_key + ".bias") - get(bn_key + ".running_mean") * scale;
    Conv conv;
    conv.weight = store_weight(weight * scale.view({-1, 1, 1, 1}));
    conv.bias = store(bias);
    conv.stride = o.stride;
    conv.padding = o.padding;
    conv.groups = o.groups;
    conv.activate = o.activate;
    conv.negative_slope = o.negative_slope;
    return conv;
  }

  // Sequential(Conv2d, BatchNorm2d, ...) under one prefix.
  template <class Conv>
  Conv sequential(const std::string& prefix, const Options& o) const {
    return conv_bn<Conv>(prefix + ".0", prefix + ".1", o);
  }

  torch::Tensor get(const std::string& key) const { return state_.at(key).to(torch::kDouble); }
  torch::Tensor store(const torch::Tensor& t) const {
    return t.to(device_, torch::kFloat).contiguous();
  }
  // Channels-last on the CPU, where the activations are too: oneDNN then runs
  // its NHWC kernels without reordering every activation and back.
  torch::Tensor store_weight(const torch::Tensor& t) const {
    const auto w = store(t);
    return device_.is_cpu() ? w.contiguous(torch::MemoryFormat::ChannelsLast) : w;
  }

 private:
  const TensorMap& state_;
  torch::Device device_;
};

torch::Tensor mean_bgr(torch::Device device) {
  return torch::tensor({104.f, 117.f, 123.f}, torch::TensorOptions().device(device))
      .view({1, 3, 1, 1});
}

}  // namespace

const char* to_string(RetinaFaceBackbone backbone) {
  return backbone == RetinaFaceBackbone::ResNet50 ? "ResNet50" : "mobilenet0.25";
}

ShapeMap expected_retinaface_shapes(RetinaFaceBackbone backbone) {
  const auto spec = spec_of(backbone);
  ShapeTable table;
  if (backbone == RetinaFaceBackbone::ResNet50)
    add_resnet_shapes(table);
  else
    add_mobilenet_shapes(table);

  const auto out = spec.out_channel;
  for (int k = 1; k <= 3; ++k)
    table.conv_bn(level_name("fpn.output", k), out, spec.in_channel << k, 1);
  table.conv_bn("fpn.merge1", out, out, 3);
  table.conv_bn("fpn.merge2", out, out, 3);
  for (int k = 1; k <= 3; ++k) {
    const auto p = level_name("ssh", k) + ".";
    table.conv_bn(p + kSshConvs[0], out / 2, out, 3);
    table.conv_bn(p + kSshConvs[1], out / 4, out, 3);
    for (int c = 2; c < 5; ++c) table.conv_bn(p + kSshConvs[c], out / 4, out / 4, 3);
  }
  for (int k = 0; k < 3; ++k) {
    const auto i = "." + std::to_string(k) + ".conv1x1";
    table.conv_with_bias("ClassHead" + i, kAnchors * 2, out);
    table.conv_with_bias("BboxHead" + i, kAnchors * 4, out);
    table.conv_with_bias("LandmarkHead" + i, kAnchors * 10, out);
  }
  return table.take();
}

RetinaFaceBackbone infer_retinaface_backbone(const TensorMap& state) {
  if (state.count("body.conv1.weight")) return RetinaFaceBackbone::ResNet50;
  if (state.count("body.stage1.0.0.weight")) return RetinaFaceBackbone::MobileNet025;
  throw ModelError(
      "not a RetinaFace state_dict: it has neither 'body.conv1.weight' (ResNet50) nor "
      "'body.stage1.0.0.weight' (mobilenet0.25)");
}

void check_retinaface_state_dict(const TensorMap& state, RetinaFaceBackbone backbone) {
  const auto expected = expected_retinaface_shapes(backbone);
  const std::string what = std::string("RetinaFace ") + to_string(backbone) + " state_dict: ";
  for (const auto& [key, shape] : expected) {
    const auto it = state.find(key);
    if (it == state.end())
      throw ModelError(what + "key '" + key + "' is missing (expected shape " +
                       shape_string(shape) + ")");
    if (it->second.sizes() != c10::IntArrayRef(shape))
      throw ModelError(what + "key '" + key + "' has shape " + shape_string(it->second.sizes()) +
                       ", expected " + shape_string(shape));
  }
  const std::string counter = ".num_batches_tracked";
  for (const auto& [key, tensor] : state) {
    if (expected.count(key)) continue;
    // BatchNorm's batch counter, meaningless in eval mode.
    if (ends_with(key, counter) &&
        expected.count(key.substr(0, key.size() - counter.size()) + ".running_mean"))
      continue;
    throw ModelError(what + "unexpected key '" + key + "' with shape " +
                     shape_string(tensor.sizes()));
  }
}

torch::Tensor resize_like_cv2(const torch::Tensor& images, double scale) {
  TORCH_CHECK(images.dim() == 4 && scale > 0, "resize_like_cv2 needs [B, C, H, W] and a positive "
              "scale, got ", images.sizes(), " and ", scale);
  // cv2 sizes the output with cvRound (nearest, ties to even) and maps pixels
  // with the requested scale; upsample_bilinear2d does the same when given it.
  const auto height = static_cast<std::int64_t>(std::nearbyint(images.size(2) * scale));
  const auto width = static_cast<std::int64_t>(std::nearbyint(images.size(3) * scale));
  TORCH_CHECK(height > 0 && width > 0, "resizing ", images.sizes(), " by ", scale,
              " leaves no pixels");
  return torch::upsample_bilinear2d(images, {height, width}, /*align_corners=*/false, scale, scale);
}

RetinaFace::RetinaFace(const TensorMap& state, torch::Device device)
    : backbone_(infer_retinaface_backbone(state)), device_(device) {
  check_retinaface_state_dict(state, backbone_);
  torch::NoGradGuard no_grad;
  const Folder read(state, device_);
  const auto spec = spec_of(backbone_);

  if (backbone_ == RetinaFaceBackbone::ResNet50) {
    stem_ = read.conv_bn<Conv>("body.conv1", "body.bn1", {2, 3, 1, true, 0.0});
    for (std::size_t l = 0; l < kResNetBlocks.size(); ++l) {
      std::vector<Bottleneck> layer;
      for (int b = 0; b < kResNetBlocks[l]; ++b) {
        const std::string p = "body.layer" + std::to_string(l + 1) + "." + std::to_string(b) + ".";
        const std::int64_t stride = (b == 0 && l > 0) ? 2 : 1;
        Bottleneck block;
        block.conv1 = read.conv_bn<Conv>(p + "conv1", p + "bn1", {1, 0, 1, true, 0.0});
        block.conv2 = read.conv_bn<Conv>(p + "conv2", p + "bn2", {stride, 1, 1, true, 0.0});
        block.conv3 = read.conv_bn<Conv>(p + "conv3", p + "bn3", {});
        block.has_downsample = b == 0;
        if (block.has_downsample)
          block.downsample = read.sequential<Conv>(p + "downsample", {stride, 0, 1, false, 0.0});
        layer.push_back(std::move(block));
      }
      resnet_layers_.push_back(std::move(layer));
    }
  } else {
    for (std::size_t s = 0; s < kMobileStages.size(); ++s) {
      std::vector<Conv> stage;
      for (std::size_t b = 0; b < kMobileStages[s].size(); ++b) {
        const auto& block = kMobileStages[s][b];
        const std::string p = "body.stage" + std::to_string(s + 1) + "." + std::to_string(b);
        if (s == 0 && b == 0) {
          stage.push_back(read.sequential<Conv>(p, {block.stride, 1, 1, true, kMobileSlope}));
          continue;
        }
        stage.push_back(read.conv_bn<Conv>(p + ".0", p + ".1",
                                           {block.stride, 1, block.in, true, kMobileSlope}));
        stage.push_back(read.conv_bn<Conv>(p + ".3", p + ".4", {1, 0, 1, true, kMobileSlope}));
      }
      mobilenet_stages_.push_back(std::move(stage));
    }
  }

  const double slope = neck_slope(spec);
  for (int k = 1; k <= 3; ++k)
    fpn_outputs_.push_back(read.sequential<Conv>(level_name("fpn.output", k), {1, 0, 1, true, slope}));
  fpn_merge1_ = read.sequential<Conv>("fpn.merge1", {1, 1, 1, true, slope});
  fpn_merge2_ = read.sequential<Conv>("fpn.merge2", {1, 1, 1, true, slope});

  for (int k = 1; k <= 3; ++k) {
    const auto p = level_name("ssh", k) + ".";
    const auto conv = [&](int c, bool activate) {
      return read.sequential<Conv>(p + kSshConvs[c], {1, 1, 1, activate, slope});
    };
    ssh_.push_back({conv(0, false), conv(1, true), conv(2, false), conv(3, true), conv(4, false)});
  }

  // The three 1x1 heads of a level read the same features: one convolution
  // with their weights stacked gives all of them in one pass.
  for (int k = 0; k < 3; ++k) {
    const auto i = "." + std::to_string(k) + ".conv1x1.";
    std::vector<torch::Tensor> weights, biases;
    for (const char* head : {"BboxHead", "ClassHead", "LandmarkHead"}) {
      weights.push_back(read.get(head + i + "weight"));
      biases.push_back(read.get(head + i + "bias"));
    }
    Conv fused;
    fused.weight = read.store_weight(torch::cat(weights, 0));
    fused.bias = read.store(torch::cat(biases, 0));
    heads_.push_back(std::move(fused));
  }
}

RetinaFace RetinaFace::load(const std::string& path, torch::Device device) {
  const auto state = load_checkpoint(path);  // its errors name the file
  try {
    return RetinaFace(state, device);
  } catch (const ModelError& e) {
    throw ModelError(path + ": " + e.what());
  }
}

namespace {

template <class Conv>
torch::Tensor apply(const Conv& conv, const torch::Tensor& x) {
  auto y = convolve(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.groups);
  if (!conv.activate) return y;
  return conv.negative_slope == 0.0 ? torch::relu_(y) : torch::leaky_relu_(y, conv.negative_slope);
}

torch::Tensor upsample_nearest_to(const torch::Tensor& x, const torch::Tensor& like) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<std::int64_t>{like.size(2), like.size(3)})
                               .mode(torch::kNearest));
}

}  // namespace

std::vector<torch::Tensor> RetinaFace::backbone_features(const torch::Tensor& input) const {
  std::vector<torch::Tensor> features;
  auto x = input;
  if (backbone_ == RetinaFaceBackbone::ResNet50) {
    x = apply(stem_, x);
    x = torch::max_pool2d(x, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1);
    for (std::size_t l = 0; l < resnet_layers_.size(); ++l) {
      for (const auto& block : resnet_layers_[l]) {
        auto out = apply(block.conv3, apply(block.conv2, apply(block.conv1, x)));
        out += block.has_downsample ? apply(block.downsample, x) : x;
        x = torch::relu_(out);
      }
      if (l > 0) features.push_back(x);  // layer2, layer3, layer4
    }
  } else {
    for (const auto& stage : mobilenet_stages_) {
      for (const auto& conv : stage) x = apply(conv, x);
      features.push_back(x);
    }
  }
  return features;
}

torch::Tensor RetinaFace::ssh(const Ssh& module, const torch::Tensor& x) const {
  const auto branch3 = apply(module.conv3x3, x);
  const auto shared = apply(module.conv5x5_1, x);
  const auto branch5 = apply(module.conv5x5_2, shared);
  const auto branch7 = apply(module.conv7x7_3, apply(module.conv7x7_2, shared));
  return torch::cat({branch3, branch5, branch7}, 1).relu_();
}

RetinaFaceHeads RetinaFace::forward(const torch::Tensor& input) const {
  TORCH_CHECK(input.dim() == 4 && input.size(1) == 3,
              "RetinaFace input must be [B, 3, H, W], got ", input.sizes());
  torch::InferenceMode inference;
  const CpuTensorCacheScope cache(device_.is_cpu());
  const auto batch = input.size(0);
  auto x = input.to(device_, torch::kFloat);
  if (device_.is_cpu()) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  const auto body = backbone_features(x);

  // FPN: lateral 1x1 convolutions, top-down nearest upsampling and merges.
  auto out1 = apply(fpn_outputs_[0], body[0]);
  auto out2 = apply(fpn_outputs_[1], body[1]);
  const auto out3 = apply(fpn_outputs_[2], body[2]);
  out2 = apply(fpn_merge2_, out2 + upsample_nearest_to(out3, out2));
  out1 = apply(fpn_merge1_, out1 + upsample_nearest_to(out2, out1));
  const std::array<torch::Tensor, 3> levels = {out1, out2, out3};

  std::vector<torch::Tensor> loc, conf, landms;
  for (std::size_t k = 0; k < levels.size(); ++k) {
    // [B, 32, h, w] -> [B, h, w, 32]: per position, per anchor, the
    // reference's permute(0, 2, 3, 1) order.
    const auto out = apply(heads_[k], ssh(ssh_[k], levels[k])).permute({0, 2, 3, 1});
    loc.push_back(out.slice(3, 0, kAnchors * 4).reshape({batch, -1, 4}));
    conf.push_back(out.slice(3, kAnchors * 4, kAnchors * 6).reshape({batch, -1, 2}));
    landms.push_back(out.slice(3, kAnchors * 6, kAnchors * 16).reshape({batch, -1, 10}));
  }
  return {torch::cat(loc, 1), torch::softmax(torch::cat(conf, 1), -1), torch::cat(landms, 1)};
}

std::vector<std::vector<FaceDetection>> RetinaFace::detect(const torch::Tensor& rgb8_batch,
                                                           float threshold, int resize_limit,
                                                           int resize_target) const {
  TORCH_CHECK(rgb8_batch.dim() == 4 && rgb8_batch.size(1) == 3 &&
                  rgb8_batch.scalar_type() == torch::kByte,
              "RetinaFace::detect needs [B, 3, H, W] uint8 RGB, got ", rgb8_batch.sizes(), " ",
              rgb8_batch.scalar_type());
  torch::InferenceMode inference;
  const CpuTensorCacheScope cache(device_.is_cpu());
  // The reference reads frames with OpenCV: BGR, float, resized, minus the mean.
  auto images = rgb8_batch.to(device_).flip({1}).to(torch::kFloat);
  const auto long_side = std::max(images.size(2), images.size(3));
  double scale = 1.0;
  if (long_side > resize_limit) {
    scale = static_cast<double>(resize_target) / static_cast<double>(long_side);
    images = resize_like_cv2(images, scale);
  }
  images = images - mean_bgr(device_);

  const auto heads = forward(images);
  RetinaFacePostprocessOptions options;
  options.confidence_threshold = threshold;
  std::vector<std::vector<FaceDetection>> faces;
  for (std::int64_t b = 0; b < images.size(0); ++b) {
    const auto detections = postprocess_retinaface(heads.loc[b], heads.conf[b], heads.landms[b],
                                                   images.size(2), images.size(3), options);
    faces.push_back(to_face_detections(detections, scale));
  }
  return faces;
}

}  // namespace gpen
