// The fused epilogue's test cases, shared by the kernel checked on the CPU
// (test_kernel_emulation) and on a GPU (test_cuda): random inputs for each
// combination of shape, channels, type, blur, noise and next-layer scaling.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "fused_epilogue.h"
#include "upfirdn.h"

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
  return out;
}

// Both sides compute in fp32 and round once: at most a unit in the last place.
inline double tolerance(torch::ScalarType dtype) {
  return dtype == torch::kFloat ? 1e-5 : dtype == torch::kHalf ? 1e-3 : 8e-3;
}

}  // namespace epilogue_cases
