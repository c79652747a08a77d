// Numeric precision of the network's convolutions.
#pragma once

#include <string>

#include <torch/types.h>

namespace gpen {

enum class Precision { Auto, Fp32, Fp16, Bf16 };

// "auto", "fp32", "fp16", "bf16"; throws Error on anything else.
Precision parse_precision(const std::string& text);
const char* precision_name(Precision precision);

// What actually runs on `device`: CPU always computes in fp32 (half
// precision convolutions are slow there and not what the fixtures define);
// on CUDA, Auto means fp16.
Precision effective_precision(Precision requested, const torch::Device& device);
torch::ScalarType scalar_type(Precision effective);

}  // namespace gpen
