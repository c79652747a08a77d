#include "runtime/precision.h"

#include "runtime/error.h"

namespace gpen {

Precision parse_precision(const std::string& text) {
  if (text == "auto") return Precision::Auto;
  if (text == "fp32") return Precision::Fp32;
  if (text == "fp16") return Precision::Fp16;
  if (text == "bf16") return Precision::Bf16;
  throw Error("unknown precision '" + text + "' (expected auto, fp32, fp16 or bf16)");
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::Auto: return "auto";
    case Precision::Fp32: return "fp32";
    case Precision::Fp16: return "fp16";
    case Precision::Bf16: return "bf16";
  }
  return "?";
}

Precision effective_precision(Precision requested, const torch::Device& device) {
  if (!device.is_cuda()) return requested == Precision::Bf16 ? Precision::Bf16 : Precision::Fp32;
  return requested == Precision::Auto ? Precision::Fp16 : requested;
}

torch::ScalarType scalar_type(Precision effective) {
  switch (effective) {
    case Precision::Fp16: return torch::kHalf;
    case Precision::Bf16: return torch::kBFloat16;
    default: return torch::kFloat;
  }
}

}  // namespace gpen
