#include "generator/gpen_config.h"

#include <cmath>
#include <sstream>

#include <torch/torch.h>

#include "runtime/error.h"

namespace gpen {
namespace {

bool has_key(const TensorMap& state, const std::string& key) { return state.count(key) != 0; }

const torch::Tensor& require(const TensorMap& state, const std::string& key) {
  auto it = state.find(key);
  if (it == state.end())
    throw ModelError("not a GPEN FullGenerator state_dict: key '" + key + "' is missing");
  return it->second;
}

std::int64_t dim(const torch::Tensor& t, int d, const std::string& key) {
  if (t.dim() <= d)
    throw ModelError("key '" + key + "' has shape " + shape_to_string(t.sizes().vec()) +
                     ", expected at least " + std::to_string(d + 1) + " dimensions");
  return t.size(d);
}

// GPEN's make_kernel([1,3,3,1]): the outer product, normalised to sum 1.
torch::Tensor blur_kernel(double gain) {
  auto k = torch::tensor({1.f, 3.f, 3.f, 1.f});
  auto k2 = torch::outer(k, k);
  return k2 / k2.sum() * gain;
}

}  // namespace

int GpenConfig::log_size() const { return static_cast<int>(std::lround(std::log2(size))); }

int GpenConfig::channels_at(int resolution) const {
  auto it = channels.find(resolution);
  if (it == channels.end())
    throw ModelError("no channel count for resolution " + std::to_string(resolution));
  return it->second;
}

double GpenConfig::narrow() const { return channels_at(4) / 512.0; }

double GpenConfig::channel_multiplier() const {
  if (size < 64) return 0.0;  // not determined by a network this small
  return channels_at(64) / (256.0 * narrow());
}

std::string GpenConfig::describe() const {
  std::ostringstream out;
  out << "GPEN size " << size << ", style_dim " << style_dim << ", n_mlp " << n_mlp
      << ", narrow " << narrow();
  if (size >= 64) out << ", channel_multiplier " << channel_multiplier();
  out << (isconcat ? ", concatenated noise" : ", additive noise");
  return out.str();
}

std::string shape_to_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

GpenConfig gpen_config_from_hyperparameters(int size, int style_dim, int n_mlp,
                                            double channel_multiplier, double narrow,
                                            bool isconcat) {
  // GPEN's channel table (face_model/gpen_model.py), int() truncation included.
  const std::map<int, double> base = {{4, 512},   {8, 512},  {16, 512}, {32, 512},
                                      {64, 256 * channel_multiplier},
                                      {128, 128 * channel_multiplier},
                                      {256, 64 * channel_multiplier},
                                      {512, 32 * channel_multiplier},
                                      {1024, 16 * channel_multiplier},
                                      {2048, 8 * channel_multiplier}};
  GpenConfig config;
  config.size = size;
  config.style_dim = style_dim;
  config.n_mlp = n_mlp;
  config.isconcat = isconcat;
  for (const auto& [res, ch] : base)
    if (res <= size) config.channels[res] = static_cast<int>(ch * narrow);
  return config;
}

GpenConfig gpen_architecture(const std::string& name) {
  if (name == "gpen-256") return gpen_config_from_hyperparameters(256, 512, 8, 1, 0.5);
  if (name == "gpen-512") return gpen_config_from_hyperparameters(512, 512, 8, 2, 1);
  if (name == "gpen-1024") return gpen_config_from_hyperparameters(1024, 512, 8, 2, 1);
  if (name == "gpen-2048") return gpen_config_from_hyperparameters(2048, 512, 8, 2, 1);
  throw Error("unknown architecture '" + name +
              "' (expected gpen-256, gpen-512, gpen-1024 or gpen-2048)");
}

GpenConfig infer_gpen_config(const TensorMap& state) {
  GpenConfig config;
  // The encoder has log2(size) - 1 stages ecd0 .. ecd{log2(size)-2}.
  int n_encoders = 0;
  while (has_key(state, "ecd" + std::to_string(n_encoders) + ".0.0.weight") ||
         has_key(state, "ecd" + std::to_string(n_encoders) + ".0.1.weight"))
    ++n_encoders;
  if (n_encoders < 2 || n_encoders > 11)
    throw ModelError("not a GPEN FullGenerator state_dict: found " + std::to_string(n_encoders) +
                     " encoder stages (ecd0.., expected 2 to 11)");
  const int log_size = n_encoders + 1;
  config.size = 1 << log_size;

  while (has_key(state, "generator.style." + std::to_string(config.n_mlp + 1) + ".weight"))
    ++config.n_mlp;
  if (config.n_mlp == 0)
    throw ModelError("not a GPEN FullGenerator state_dict: no style MLP (generator.style.1.weight)");
  config.style_dim = static_cast<int>(
      dim(require(state, "generator.style.1.weight"), 0, "generator.style.1.weight"));

  const auto& input = require(state, "generator.input.input");
  config.channels[4] = static_cast<int>(dim(input, 1, "generator.input.input"));
  const auto& to_rgb1 = require(state, "generator.to_rgb1.conv.weight");
  const auto rgb_in = dim(to_rgb1, 2, "generator.to_rgb1.conv.weight");
  if (rgb_in != config.channels[4] && rgb_in != 2 * config.channels[4])
    throw ModelError("generator.to_rgb1.conv.weight has " + std::to_string(rgb_in) +
                     " input channels, expected " + std::to_string(config.channels[4]) + " or " +
                     std::to_string(2 * config.channels[4]));
  config.isconcat = rgb_in == 2 * config.channels[4];
  for (int i = 3; i <= log_size; ++i) {
    const std::string key = "generator.convs." + std::to_string(2 * (i - 3)) + ".conv.weight";
    config.channels[1 << i] = static_cast<int>(dim(require(state, key), 1, key));
  }
  return config;
}

ShapeMap expected_gpen_shapes(const GpenConfig& c) {
  using S = std::vector<std::int64_t>;
  ShapeMap shapes;
  const std::int64_t sd = c.style_dim, fm = c.feat_multiplier();
  auto styled_conv = [&](const std::string& p, std::int64_t in, std::int64_t out, bool up) {
    shapes[p + ".conv.weight"] = S{1, out, in, 3, 3};
    shapes[p + ".conv.modulation.weight"] = S{in, sd};
    shapes[p + ".conv.modulation.bias"] = S{in};
    if (up) shapes[p + ".conv.blur.kernel"] = S{4, 4};
    shapes[p + ".noise.weight"] = S{1};
    shapes[p + ".activate.bias"] = S{out * fm};
  };
  auto to_rgb = [&](const std::string& p, std::int64_t in, bool up) {
    shapes[p + ".conv.weight"] = S{1, 3, in, 1, 1};
    shapes[p + ".conv.modulation.weight"] = S{in, sd};
    shapes[p + ".conv.modulation.bias"] = S{in};
    shapes[p + ".bias"] = S{1, 3, 1, 1};
    if (up) shapes[p + ".upsample.kernel"] = S{4, 4};
  };

  for (int i = 1; i <= c.n_mlp; ++i) {
    shapes["generator.style." + std::to_string(i) + ".weight"] = S{sd, sd};
    shapes["generator.style." + std::to_string(i) + ".bias"] = S{sd};
  }
  const std::int64_t c4 = c.channels_at(4);
  shapes["generator.input.input"] = S{1, c4, 4, 4};
  styled_conv("generator.conv1", c4, c4, false);
  to_rgb("generator.to_rgb1", c4 * fm, false);
  std::int64_t in = c4;
  for (int i = 3; i <= c.log_size(); ++i) {
    const std::int64_t out = c.channels_at(1 << i);
    const int k = i - 3;
    styled_conv("generator.convs." + std::to_string(2 * k), in * fm, out, true);
    styled_conv("generator.convs." + std::to_string(2 * k + 1), out * fm, out, false);
    to_rgb("generator.to_rgbs." + std::to_string(k), out * fm, true);
    in = out;
  }

  shapes["ecd0.0.0.weight"] = S{c.channels_at(c.size), 3, 1, 1};
  shapes["ecd0.0.1.bias"] = S{c.channels_at(c.size)};
  for (int j = 1; j <= c.log_size() - 2; ++j) {
    const std::string p = "ecd" + std::to_string(j) + ".0.";
    const std::int64_t cin = c.channels_at(c.size >> (j - 1)), cout = c.channels_at(c.size >> j);
    shapes[p + "0.kernel"] = S{4, 4};
    shapes[p + "1.weight"] = S{cout, cin, 3, 3};
    shapes[p + "2.bias"] = S{cout};
  }
  shapes["final_linear.0.weight"] = S{sd, c4 * 16};
  shapes["final_linear.0.bias"] = S{sd};
  return shapes;
}

void check_gpen_state_dict(const TensorMap& state, const GpenConfig& config) {
  const ShapeMap expected = expected_gpen_shapes(config);
  std::vector<std::string> problems;
  for (const auto& [key, shape] : expected) {
    auto it = state.find(key);
    if (it == state.end()) {
      problems.push_back("missing key '" + key + "' (expected shape " + shape_to_string(shape) + ")");
    } else if (it->second.sizes().vec() != shape) {
      problems.push_back("key '" + key + "' has shape " +
                         shape_to_string(it->second.sizes().vec()) + ", expected " +
                         shape_to_string(shape));
    } else if (!it->second.is_floating_point()) {
      problems.push_back("key '" + key + "' is not a floating-point tensor");
    }
  }
  for (const auto& [key, tensor] : state)
    if (!expected.count(key))
      problems.push_back("unexpected key '" + key + "' with shape " +
                         shape_to_string(tensor.sizes().vec()));
  if (problems.empty()) return;
  std::string message = "state_dict does not match " + config.describe() + ": ";
  const std::size_t shown = std::min<std::size_t>(problems.size(), 8);
  for (std::size_t i = 0; i < shown; ++i) message += (i ? "; " : "") + problems[i];
  if (problems.size() > shown)
    message += "; and " + std::to_string(problems.size() - shown) + " more";
  throw ModelError(message);
}

TensorMap random_gpen_state_dict(const GpenConfig& config, std::uint64_t seed) {
  torch::manual_seed(seed);
  TensorMap state;
  for (const auto& [key, shape] : expected_gpen_shapes(config)) {
    const auto ends_with = [&](const std::string& suffix) {
      return key.size() >= suffix.size() &&
             key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    torch::Tensor t;
    if (ends_with(".kernel")) {
      // Upsampling kernels carry the factor^2 gain; downsampling ones do not.
      const bool up = key.find("upsample") != std::string::npos ||
                      key.find("conv.blur") != std::string::npos;
      t = blur_kernel(up ? 4.0 : 1.0);
    } else if (ends_with("modulation.bias")) {
      t = torch::ones(shape);
    } else if (ends_with("noise.weight")) {
      t = torch::full(shape, 0.1);
    } else if (ends_with("bias")) {
      t = torch::randn(shape) * 0.05;
    } else if (key.rfind("generator.style.", 0) == 0) {
      t = torch::randn(shape) / 0.01;  // EqualLinear(lr_mul=0.01) initialises randn / lr_mul
    } else {
      t = torch::randn(shape);
    }
    state[key] = t.contiguous();
  }
  return state;
}

}  // namespace gpen
