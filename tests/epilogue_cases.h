// The fused epilogue's test cases, shared by the kernel checked on the CPU
// (test_kernel_emulation) and on a GPU (test_cuda): random inputs for each
// combination of shape, channels, type, blur, noise and next-layer scaling.
#pragma once

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "generator/fused_epilogue.h"
#include "generator/upfirdn.h"

namespace epilogue_cases {

struct Case {
  std::int64_t conv_h, conv_w, channels;
  torch::ScalarType dtype;
  bool with_blur;
  int noise;  // 0 none, 1 concatenated, 2 added; 3 a plain blur (no activation)
  bool with_next;

  std::string describe() const {
    std::ostringstream s;
    s << "conv " << conv_h << "x" << conv_w << " channels " << channels << " dtype " << dtype << " blur "
      << with_blur << " noise " << noise << " next " << with_next;
    return s.str();
  }
};

// Inputs of 11x15 and 15x8: with the blur (pad 1) outputs of 10x14 and 14x7
// (an odd width: a last block of two columns has one; no side a multiple of
// 4 rows), blocks inside and at every edge; 6 channels take the kernel's
// paired loads, 16 and 24 its 16-byte packets. 234 cases.
inline std::vector<Case> all() {
  std::vector<Case> cases;
  for (const auto& [h, w] : {std::pair<std::int64_t, std::int64_t>{11, 15}, {15, 8}})
    for (const std::int64_t channels : {6, 16, 24})
      for (const auto dtype : {torch::kFloat, torch::kHalf, torch::kBFloat16})
        for (const bool with_blur : {false, true})
          for (const int noise : {0, 1, 2, 3})
            for (const bool with_next : {false, true})
              if (noise != 3 || (with_blur && !with_next))
                cases.push_back({h, w, channels, dtype, with_blur, noise, with_next});
  return cases;
}

// Every blocking the launcher compiles (rows x columns a thread).
inline const gpen::cuda::EpilogueBlock kBlocks[] = {{1, 1}, {2, 1}, {4, 1}, {1, 2}, {2, 2}};

// A blur with random taps, as the generator prepares one.
struct Blur {
  gpen::FirFilter filter{torch::rand({4, 4}), 1, 1, 1, 1};
  torch::Tensor taps = torch::flip(filter.kernel, {0, 1}).contiguous();
};

// Random inputs on the CPU for `c` (the blur must outlive them).
inline gpen::EpilogueInputs inputs(const Case& c, const Blur& blur, std::int64_t batch = 2) {
  const std::int64_t out_h = c.with_blur ? c.conv_h - 1 : c.conv_h, out_w = c.with_blur ? c.conv_w - 1 : c.conv_w;
  const std::int64_t out_channels = c.noise == 1 ? 2 * c.channels : c.channels;
  gpen::EpilogueInputs in;
  in.conv = (torch::randn({batch, c.channels, c.conv_h, c.conv_w}) * 3).to(c.dtype);
  if (c.with_blur) {
    in.blur = &blur.filter;
    in.blur_taps = blur.taps;
  }
  in.activate = c.noise != 3;
  if (c.noise != 3) in.out_scale = torch::rand({batch, c.channels}) + 0.5;
  if (c.noise == 1 || c.noise == 2) in.features = torch::randn({batch, c.channels, out_h, out_w}).to(c.dtype);
  in.noise_weight = 0.7;
  in.concat = c.noise == 1;
  in.bias = torch::randn({out_channels});
  if (c.with_next) in.next_scale = torch::rand({batch, out_channels}) * 2 - 1;
  in.want_plain = true;
  return in;
}

// The same inputs on `device`, activations channels-last (the taps stay in
// host memory: the kernel takes them as parameters).
inline gpen::EpilogueInputs on(const gpen::EpilogueInputs& in, const torch::Device& device) {
  const auto move = [&](const torch::Tensor& t) { return t.defined() ? t.to(device) : t; };
  gpen::EpilogueInputs out = in;
  out.conv = in.conv.to(device).contiguous(torch::MemoryFormat::ChannelsLast);
  if (in.features.defined()) out.features = in.features.to(device).contiguous(torch::MemoryFormat::ChannelsLast);
  out.out_scale = move(in.out_scale);
  out.bias = move(in.bias);
  out.next_scale = move(in.next_scale);
  if (in.to_rgb) {
    out.to_rgb->weight = move(in.to_rgb->weight);
    out.to_rgb->bias = move(in.to_rgb->bias);
    out.to_rgb->skip = move(in.to_rgb->skip);
  }
  return out;
}

// to_rgb folded into the epilogue (no blur, activation): 16, 64 and 128
// channels give groups of 2, 8 and 16 lanes a pixel in fp16 and bf16, 4, 16
// and 32 in fp32; each with no noise, concatenated and added noise, and one
// of four ways to end (next scaling or not, skip or not, the scaled output
// kept or not, as by the last layer) that each noise meets with every one.
// 27 cases, outputs of 5x7.
struct FoldCase {
  Case base;
  bool with_skip, want_scaled;

  std::string describe() const {
    return base.describe() + " skip " + std::to_string(with_skip) + " scaled " + std::to_string(want_scaled);
  }
};

inline std::vector<FoldCase> fold_cases() {
  struct End {
    bool with_next, with_skip, want_scaled;
  };
  const End ends[] = {{true, true, true}, {true, false, true}, {false, true, false}, {false, false, true}};
  const std::int64_t channel_counts[] = {16, 64, 128};
  const torch::ScalarType dtypes[] = {torch::kFloat, torch::kHalf, torch::kBFloat16};
  std::vector<FoldCase> cases;
  for (int ci = 0; ci < 3; ++ci)
    for (int di = 0; di < 3; ++di)
      for (const int noise : {0, 1, 2}) {
        const End& end = ends[(noise + ci + di) % 4];
        cases.push_back({{5, 7, channel_counts[ci], dtypes[di], false, noise, end.with_next}, end.with_skip,
                         end.want_scaled});
      }
  return cases;
}

// Random inputs on the CPU for `c`, to_rgb included.
inline gpen::EpilogueInputs fold_inputs(const FoldCase& c, const Blur& blur, std::int64_t batch = 2) {
  gpen::EpilogueInputs in = inputs(c.base, blur, batch);
  in.want_plain = false;
  in.want_scaled = c.want_scaled;
  const std::int64_t out_channels = in.bias.numel();
  gpen::EpilogueToRgb rgb;
  rgb.weight = torch::randn({batch, 3, out_channels}) / std::sqrt(static_cast<double>(out_channels));
  rgb.bias = torch::randn({3});
  if (c.with_skip) rgb.skip = torch::randn({batch, 3, in.conv.size(2) - (in.blur ? 1 : 0), in.conv.size(3) - (in.blur ? 1 : 0)});
  in.to_rgb = rgb;
  return in;
}

// What an epilogue with to_rgb makes, by definition (on the CPU): the
// activations by ATen, rounded to their dtype, and to_rgb of them in fp32.
inline gpen::EpilogueOutputs fold_definition(const gpen::EpilogueInputs& in) {
  gpen::EpilogueInputs activations = in;
  activations.to_rgb.reset();
  activations.want_plain = activations.want_scaled = true;
  gpen::EpilogueOutputs out = gpen::fused_epilogue(activations);
  const gpen::EpilogueToRgb& rgb = *in.to_rgb;
  out.rgb = torch::einsum("bchw,bkc->bkhw", {out.plain.to(torch::kFloat), rgb.weight}) + rgb.bias.view({1, 3, 1, 1});
  if (rgb.skip.defined()) out.rgb = out.rgb + rgb.skip;
  return out;
}

// Both sides compute in fp32 and round once: at most a unit in the last place.
inline double tolerance(torch::ScalarType dtype) {
  return dtype == torch::kFloat ? 1e-5 : dtype == torch::kHalf ? 1e-3 : 8e-3;
}

}  // namespace epilogue_cases
