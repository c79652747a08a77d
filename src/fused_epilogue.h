// The work that follows each convolution on the generator's fast path, as one
// pass over memory: blur (after a transposed convolution), demodulation,
// noise injection (GPEN concatenates or adds the encoder's features), bias,
// leaky ReLU with its sqrt(2) gain, and the next modulated convolution's
// input scaling. Done op by op that is ten passes over the activations; on
// CUDA it is one kernel (fused_epilogue_kernel.cu), elsewhere ATen ops.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "fused_epilogue_kernel.h"
#include "upfirdn.h"

namespace gpen {

struct EpilogueInputs {
  torch::Tensor conv;              // [B, C, Hc, Wc], the convolution's output
  const FirFilter* blur = nullptr;  // up = down = 1, 4x4; applied to `conv` first
  torch::Tensor blur_taps;          // its kernel flipped, [4, 4] fp32 in host memory
                                    // (the CUDA kernel takes them as parameters)
  torch::Tensor out_scale;         // [B, C] fp32 (demodulation), or undefined
  torch::Tensor features;          // [B, C, H, W] encoder features, or undefined
  double noise_weight = 0.0;       // scales `features`
  bool concat = true;              // features after the C channels, or added to them
  bool activate = true;            // false: no bias, no activation (a plain blur, say)
  torch::Tensor bias;              // [C_out] fp32, when activating
  torch::Tensor next_scale;        // [B, C_out] fp32 (next conv's modulation), or undefined
  bool want_plain = false;         // also return the unscaled activations
};

struct EpilogueOutputs {
  torch::Tensor scaled;  // activations * next_scale (= plain when there is none)
  torch::Tensor plain;   // activations, when want_plain
};

// Outputs are channels-last in the dtype of `conv`; all arithmetic is fp32
// and rounded once. out[c] = lrelu(v[c] + bias[c], 0.2) * sqrt(2) (or v[c]
// when not activating), with v = [blur(conv) * out_scale, noise_weight *
// features] (or their sum).
EpilogueOutputs fused_epilogue(const EpilogueInputs& in);

// Whether fused_epilogue runs as one CUDA kernel in this build.
bool fused_epilogue_has_cuda_kernel();

// What fused_epilogue runs on CUDA, for reports: the kernel and its blocking
// (rows x columns per thread; GPEN_EPILOGUE_ROWS/COLUMNS), or ATen.
std::string fused_epilogue_cuda_description();

// The kernel's side, exposed so that tests can run its device code on the
// CPU (tests/test_kernel_emulation.cpp): whether the kernel takes `in`, and
// its arguments for `in` (on any device; no stream set), with the outputs
// allocated and the channels-last inputs the arguments point into.
bool epilogue_kernel_applies(const EpilogueInputs& in);
struct EpilogueKernelLaunch {
  cuda::EpilogueKernelArgs args;
  EpilogueOutputs outputs;
  std::vector<torch::Tensor> inputs;  // kept alive for `args`
};
EpilogueKernelLaunch prepare_epilogue_kernel(const EpilogueInputs& in);

}  // namespace gpen
