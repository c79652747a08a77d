// Numeric precision of the network's convolutions.
#pragma once

#include <string>

#include <torch/types.h>

namespace gpen {

enum class Precision { Auto, Fp32, Fp16, Bf16 };

// "auto", "fp32", "fp16", "bf16"; throws Error on anything else.
Precision parse_precision(const std::string& text);
const char* precision_name(Precision precision);

// What actually runs on `device`. On the CPU: fp32, or bf16 when asked for
// (oneDNN's bf16 kernels, about twice as fast as fp32 on CPUs with
// AVX512-BF16 or AMX); fp16 computes in fp32 there (its convolutions are
// slow on CPUs). On CUDA, Auto means fp16.
Precision effective_precision(Precision requested, const torch::Device& device);
torch::ScalarType scalar_type(Precision effective);

}  // namespace gpen
