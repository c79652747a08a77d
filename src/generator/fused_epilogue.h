// The work that follows each convolution on the generator's fast path, as one
// pass over memory: blur (after a transposed convolution), demodulation,
// noise injection (GPEN concatenates or adds the encoder's features), bias,
// leaky ReLU with its sqrt(2) gain, and the next modulated convolution's
// input scaling; and, optionally, the to_rgb that reads the activations.
// Done op by op that is ten passes over the activations; on CUDA it is one
// kernel (fused_epilogue_kernel.cu), elsewhere ATen ops.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "cuda/fused_epilogue_kernel.h"
#include "generator/upfirdn.h"

namespace gpen {

// to_rgb of the epilogue's (unscaled) activations, as fused_to_rgb takes it.
struct EpilogueToRgb {
  torch::Tensor weight;  // [B, 3, C_out] fp32: each face's modulated 1x1 weight
  torch::Tensor bias;    // 3 values
  torch::Tensor skip;    // [B, 3, H, W] fp32, the upsampled RGB so far, or undefined
};

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
  std::optional<EpilogueToRgb> to_rgb;  // also return fused_to_rgb(activations, ...)
  bool want_scaled = true;         // false: only `plain` or `rgb` are wanted (the last layer)
};

struct EpilogueOutputs {
  torch::Tensor scaled;  // activations * next_scale (= plain when there is none), when want_scaled
  torch::Tensor plain;   // activations, when want_plain
  torch::Tensor rgb;     // [B, 3, H, W] fp32, when to_rgb
};

// Outputs are channels-last in the dtype of `conv`; all arithmetic is fp32
// and rounded once. out[c] = lrelu(v[c] + bias[c], 0.2) * sqrt(2) (or v[c]
// when not activating), with v = [blur(conv) * out_scale, noise_weight *
// features] (or their sum).
EpilogueOutputs fused_epilogue(const EpilogueInputs& in);

// Whether fused_epilogue runs as one CUDA kernel in this build.
bool fused_epilogue_has_cuda_kernel();

// What fused_epilogue runs on CUDA, for reports: the kernel, its blocking
// (rows x columns per thread; GPEN_EPILOGUE_ROWS/COLUMNS) and whether it
// folds to_rgb in (GPEN_FUSED_TO_RGB), or ATen.
std::string fused_epilogue_cuda_description();

// The kernel's side, exposed so that tests can run its device code on the
// CPU (tests/test_kernel_emulation.cpp): whether the kernel takes `in`
// (to_rgb aside), whether it can also fold in.to_rgb, and its arguments for
// `in` (on any device; no stream set; to_rgb folded in when requested, which
// needs epilogue_kernel_folds_to_rgb), with the outputs allocated and the
// channels-last inputs the arguments point into.
bool epilogue_kernel_applies(const EpilogueInputs& in);
bool epilogue_kernel_folds_to_rgb(const EpilogueInputs& in);
struct EpilogueKernelLaunch {
  cuda::EpilogueKernelArgs args;
  EpilogueOutputs outputs;
  std::vector<torch::Tensor> inputs;  // kept alive for `args`
};
EpilogueKernelLaunch prepare_epilogue_kernel(const EpilogueInputs& in);

}  // namespace gpen
