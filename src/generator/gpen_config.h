// GPEN FullGenerator hyperparameters and the exact state_dict layout they
// imply. Everything is inferred from a checkpoint's key names and shapes, so
// the released GPEN-BFR-256/512/1024/2048 files load with no flags.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"

namespace gpen {

struct GpenConfig {
  int size = 0;        // output (and input) side in pixels, a power of two >= 8
  int style_dim = 0;
  int n_mlp = 0;
  bool isconcat = true;  // noise injection concatenates encoder features
  std::map<int, int> channels;  // feature channels by resolution (4 .. size)

  int log_size() const;
  int feat_multiplier() const { return isconcat ? 2 : 1; }
  int channels_at(int resolution) const;
  // Reported only: narrow = channels[4] / 512, channel_multiplier = channels[64] / (256 narrow).
  double narrow() const;
  double channel_multiplier() const;
  std::string describe() const;
};

using ShapeMap = std::map<std::string, std::vector<std::int64_t>>;

// The configuration of the released GPEN-BFR models by name ("gpen-256",
// "gpen-512", "gpen-1024", "gpen-2048"), with GPEN's channel table.
GpenConfig gpen_architecture(const std::string& name);
GpenConfig gpen_config_from_hyperparameters(int size, int style_dim, int n_mlp,
                                            double channel_multiplier, double narrow,
                                            bool isconcat = true);

// Infers the configuration from a state_dict; throws ModelError when the keys
// do not look like a GPEN FullGenerator.
GpenConfig infer_gpen_config(const TensorMap& state);

// Every key a FullGenerator of this configuration has, with its shape.
ShapeMap expected_gpen_shapes(const GpenConfig& config);

// Strict check: throws ModelError naming every missing, unexpected or
// mis-shaped key (with the expected and found shapes).
void check_gpen_state_dict(const TensorMap& state, const GpenConfig& config);

// Seeded random weights in the layout of `config`, initialised as the reference
// initialises them (for benchmarks and tests; not a trained model).
TensorMap random_gpen_state_dict(const GpenConfig& config, std::uint64_t seed);

std::string shape_to_string(const std::vector<std::int64_t>& shape);

}  // namespace gpen
