// The CUDA kernels' device code (src/cuda/fused_epilogue_device.cuh,
// src/cuda/to_rgb_device.cuh), compiled as host C++ and run on the CPU
// (tests/cuda_emulation.h), against their definitions: indexing, edges,
// packet widths, blockings and warp sums are checked on machines without a
// GPU (test_cuda checks the compiled kernels on one).
#include "cuda_emulation.h"  // first: the device code's CUDA names

#include "cuda/fused_epilogue_device.cuh"
#include "cuda/to_rgb_device.cuh"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "epilogue_cases.h"
#include "generator/fused_epilogue.h"
#include "generator/fused_to_rgb.h"
#include "generator/upfirdn.h"
#include "tensor_closeness.h"

namespace {

using gpen::cuda::EpilogueBlock;
using gpen::cuda::EpilogueBlocking;

// The kernel the launcher picks for `in`, run on the CPU with the launcher's
// grid, or with a small one (one block of 32 threads by two strips: every
// thread then strides over several items and strips).
gpen::EpilogueOutputs emulate(const gpen::EpilogueInputs& in, const EpilogueBlocking& blocking, bool small_grid) {
  gpen::EpilogueKernelLaunch launch = gpen::prepare_epilogue_kernel(in);
  const char* error = gpen::cuda::dispatch_fused_epilogue(
      launch.args, blocking, [&](auto kernel, dim3 grid, dim3 block) -> const char* {
        if (small_grid) {
          grid = dim3(1, grid.y < 2 ? grid.y : 2);
          block = dim3(32);
        }
        // Lanes that fold to_rgb in sum by shuffles; other threads share nothing.
        if (launch.args.rgb_weight != nullptr)
          emulate_launch_warps(kernel, grid, block, launch.args);
        else
          emulate_launch(kernel, grid, block, launch.args);
        return "";
      });
  EXPECT_STREQ(error, "");
  return launch.outputs;
}

// Calls run(blocking, small_grid) for every blocking compiled (the same after
// a blur and elsewhere), with the launcher's grid and with a small one.
template <typename Run>
void for_each_launch(Run&& run) {
  for (const auto& block : epilogue_cases::kBlocks)
    for (const bool small_grid : {false, true}) {
      SCOPED_TRACE(testing::Message() << "block " << block.rows << "x" << block.columns << " small grid "
                                      << small_grid);
      EpilogueBlocking blocking;
      blocking.blur = blocking.plain = block;
      run(blocking, small_grid);
    }
}

TEST(EpilogueKernelEmulation, EveryBlockingMatchesTheDefinition) {
  torch::manual_seed(3);
  const epilogue_cases::Blur blur;
  for (const auto& c : epilogue_cases::all()) {
    SCOPED_TRACE(c.describe());
    const auto in = epilogue_cases::inputs(c, blur);
    ASSERT_TRUE(gpen::epilogue_kernel_applies(in));
    const auto expected = gpen::fused_epilogue(in);  // on the CPU: the ATen definition
    const double tolerance = epilogue_cases::tolerance(c.dtype);
    gpen::EpilogueOutputs first;
    for_each_launch([&](const EpilogueBlocking& blocking, bool small_grid) {
      const auto got = emulate(in, blocking, small_grid);
      ASSERT_EQ(got.scaled.sizes(), expected.scaled.sizes());
      EXPECT_TRUE(got.scaled.is_contiguous(torch::MemoryFormat::ChannelsLast));
      EXPECT_LE(relative_max_diff(expected.scaled, got.scaled), tolerance);
      EXPECT_LE(relative_max_diff(expected.plain, got.plain), tolerance);
      // Every blocking adds each output's taps in the same order: the same bits
      // (channel pairs always take 2x1).
      if (!first.scaled.defined()) {
        first = got;
      } else {
        EXPECT_TRUE(torch::equal(first.scaled, got.scaled));
        EXPECT_TRUE(torch::equal(first.plain, got.plain));
      }
    });
  }
}

// to_rgb folded in: the activations as without it, the RGB as to_rgb of
// the rounded activations in fp32, the same bits from every blocking and
// grid (each output's sum goes channel by channel in each lane, then across
// the lanes, whatever the blocking).
TEST(EpilogueKernelEmulation, FoldsToRgb) {
  torch::manual_seed(11);
  const epilogue_cases::Blur blur;
  for (const auto& c : epilogue_cases::fold_cases()) {
    SCOPED_TRACE(c.describe());
    const auto in = epilogue_cases::fold_inputs(c, blur);
    ASSERT_TRUE(gpen::epilogue_kernel_folds_to_rgb(in));
    const auto expected = epilogue_cases::fold_definition(in);
    const double tolerance = epilogue_cases::tolerance(c.base.dtype);
    gpen::EpilogueOutputs first;
    for_each_launch([&](const EpilogueBlocking& blocking, bool small_grid) {
      const auto got = emulate(in, blocking, small_grid);
      EXPECT_FALSE(got.plain.defined());
      EXPECT_EQ(got.scaled.defined(), c.want_scaled);
      if (c.want_scaled) {
        EXPECT_LE(relative_max_diff(expected.scaled, got.scaled), tolerance);
      }
      ASSERT_EQ(got.rgb.sizes(), expected.rgb.sizes());
      // The same fp32 operations as ATen's on the CPU, so the same rounded
      // activations: only the order of the sum differs.
      EXPECT_LE(relative_max_diff(expected.rgb, got.rgb), 1e-5);
      if (!first.rgb.defined())
        first = got;
      else
        EXPECT_TRUE(torch::equal(first.rgb, got.rgb));
    });
  }

  // Where the kernel cannot fold (after a blur; channel pairs; more packets a
  // pixel than a warp has lanes), the host says so and the launcher refuses.
  epilogue_cases::FoldCase c = epilogue_cases::fold_cases().front();
  c.base.channels = 256;  // 64 fp32 packets
  EXPECT_FALSE(gpen::epilogue_kernel_folds_to_rgb(epilogue_cases::fold_inputs(c, blur)));
  c = epilogue_cases::fold_cases().front();
  c.base.with_blur = true;
  c.base.conv_h += 1, c.base.conv_w += 1;
  const auto after_blur = epilogue_cases::fold_inputs(c, blur);
  EXPECT_FALSE(gpen::epilogue_kernel_folds_to_rgb(after_blur));
  EXPECT_THROW(gpen::prepare_epilogue_kernel(after_blur), c10::Error);
  c = epilogue_cases::fold_cases().front();
  c.base.channels = 6;
  EXPECT_FALSE(gpen::epilogue_kernel_folds_to_rgb(epilogue_cases::fold_inputs(c, blur)));
  auto wide = gpen::prepare_epilogue_kernel(epilogue_cases::fold_inputs(epilogue_cases::fold_cases().front(), blur));
  wide.args.conv_channels = wide.args.out_channels = 64 * 4;  // 64 fp32 packets
  const char* error = gpen::cuda::dispatch_fused_epilogue(wide.args, EpilogueBlocking{},
                                                          [](auto, dim3, dim3) { return "launched"; });
  EXPECT_STREQ(error, "fused_epilogue: cannot fold to_rgb into these arguments");
}

// The launcher rounds a requested blocking down to a compiled one, and
// reports sizes its 32-bit offsets cannot address instead of launching.
TEST(EpilogueKernelEmulation, LauncherBlockingAndLimits) {
  using gpen::cuda::compiled_epilogue_block;
  const auto same = [](EpilogueBlock a, EpilogueBlock b) { return a.rows == b.rows && a.columns == b.columns; };
  EXPECT_TRUE(same(compiled_epilogue_block({2, 1}), {2, 1}));
  EXPECT_TRUE(same(compiled_epilogue_block({3, 1}), {2, 1}));
  EXPECT_TRUE(same(compiled_epilogue_block({8, 1}), {4, 1}));
  EXPECT_TRUE(same(compiled_epilogue_block({4, 2}), {2, 2}));
  EXPECT_TRUE(same(compiled_epilogue_block({1, 3}), {1, 2}));
  EXPECT_TRUE(same(compiled_epilogue_block({0, 0}), {1, 1}));

  gpen::cuda::EpilogueKernelArgs a;
  a.type = gpen::cuda::ElementType::F16;
  a.batch = 1;
  a.conv_channels = a.out_channels = 64;
  a.height = a.width = a.conv_height = a.conv_width = 8192;  // 4G elements in one image
  bool launched = false;
  const char* error = gpen::cuda::dispatch_fused_epilogue(a, EpilogueBlocking{}, [&](auto, dim3, dim3) {
    launched = true;
    return "";
  });
  EXPECT_STREQ(error, "fused_epilogue: tensor too large");
  EXPECT_FALSE(launched);
  // And the host side sends such a tensor to ATen instead.
  gpen::EpilogueInputs in;
  in.conv = torch::zeros({1, 1, 1, 1}, torch::kHalf).expand({1, 64, 8192, 8192});  // no memory behind it
  in.activate = false;
  EXPECT_FALSE(gpen::epilogue_kernel_applies(in));
}

// The to_rgb kernel, each warp's lanes as threads that meet at its
// shuffles, against an fp32 einsum: one lane a pixel (8 fp16 channels), 16
// lanes (128), a warp with several packets a lane (1024), and the fp32
// packets of 4; with the launcher's grid and with one warp a face (it strides).
TEST(ToRgbKernelEmulation, MatchesItsDefinition) {
  torch::manual_seed(5);
  const std::int64_t batch = 3, height = 5, width = 7;
  int cases = 0;
  for (const std::int64_t channels : {8, 24, 128, 1024})
  for (const auto dtype : {torch::kFloat, torch::kHalf, torch::kBFloat16})
  for (const bool with_skip : {false, true}) {
    SCOPED_TRACE(testing::Message() << "channels " << channels << " dtype " << dtype << " skip " << with_skip);
    const auto x = (torch::randn({batch, channels, height, width}) * 2)
                       .to(dtype)
                       .contiguous(torch::MemoryFormat::ChannelsLast);
    const auto weight = torch::randn({batch, 3, channels}) / std::sqrt(static_cast<double>(channels));
    const auto bias = torch::randn({1, 3, 1, 1});
    const auto skip = with_skip ? torch::randn({batch, 3, height, width}) : torch::Tensor();
    if (channels == 24) {  // 3 or 6 packets a pixel: no power-of-two group of lanes (ATen does it)
      EXPECT_FALSE(gpen::to_rgb_kernel_takes(x, weight, skip));
      continue;
    }
    ASSERT_TRUE(gpen::to_rgb_kernel_takes(x, weight, skip));
    auto expected = torch::einsum("bchw,bkc->bkhw", {x.to(torch::kFloat), weight}) + bias;
    if (with_skip) expected = expected + skip;
    torch::Tensor first;
    for (const bool small_grid : {false, true}) {
      SCOPED_TRACE(testing::Message() << "small grid " << small_grid);
      auto launch = gpen::prepare_to_rgb_kernel(x, weight, bias, skip);
      const char* error =
          gpen::cuda::dispatch_to_rgb(launch.args, [&](auto kernel, dim3 grid, dim3 block, int lanes) {
            if (small_grid) {
              grid = dim3(1, grid.y);
              block = dim3(32);
            }
            emulate_launch_warps(kernel, grid, block, launch.args, lanes);
            return "";
          });
      EXPECT_STREQ(error, "");
      EXPECT_LE(relative_max_diff(expected, launch.out), 1e-5);
      // Each pixel's sum goes lane by lane, then across lanes, whatever the grid.
      if (!first.defined())
        first = launch.out;
      else
        EXPECT_TRUE(torch::equal(first, launch.out));
    }
    ++cases;
  }
  EXPECT_EQ(cases, 3 * 3 * 2);
}

}  // namespace
