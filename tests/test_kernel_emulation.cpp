// The fused epilogue's CUDA device code (src/fused_epilogue_device.cuh),
// compiled as host C++ and run thread by thread on the CPU
// (tests/cuda_emulation.h), against the epilogue's definition: its indexing,
// edges, packet widths and blockings are checked on machines without a GPU
// (test_cuda checks the compiled kernel on one, with the blocking in use).
#include "cuda_emulation.h"  // first: the device code's CUDA names

#include "fused_epilogue_device.cuh"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "fused_epilogue.h"
#include "upfirdn.h"

namespace {

using gpen::cuda::EpilogueBlock;
using gpen::cuda::EpilogueBlocking;

double relative_max_diff(const torch::Tensor& ref, const torch::Tensor& out) {
  const auto r = ref.to(torch::kFloat), o = out.to(torch::kFloat);
  return (r - o).abs().max().item<double>() / r.abs().max().item<double>();
}

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
        emulate_launch(kernel, grid, block, launch.args);
        return "";
      });
  EXPECT_STREQ(error, "");
  return launch.outputs;
}

// Every blocking the launcher compiles, for the blur and the plain kernels.
const EpilogueBlock kBlocks[] = {{1, 1}, {2, 1}, {4, 1}, {1, 2}, {2, 2}};

TEST(EpilogueKernelEmulation, EveryBlockingMatchesTheDefinition) {
  torch::manual_seed(3);
  const std::int64_t batch = 2;
  gpen::FirFilter blur{torch::rand({4, 4}), 1, 1, 1, 1};
  const auto taps = torch::flip(blur.kernel, {0, 1}).contiguous();
  // Inputs of 11x15 and 15x8: with the blur (pad 1) outputs of 10x14 and
  // 14x7 (an odd width: a last block of two columns has one), blocks inside
  // and at every edge; 6 channels take paired loads, 16 and 24 16-byte packets.
  const std::pair<std::int64_t, std::int64_t> shapes[] = {{11, 15}, {15, 8}};
  int cases = 0;
  for (const auto& [conv_h, conv_w] : shapes)
  for (const std::int64_t channels : {6, 16, 24})
  for (const auto dtype : {torch::kFloat, torch::kHalf, torch::kBFloat16})
  for (const bool with_blur : {false, true})
  for (const int noise : {0, 1, 2, 3})  // none, concatenated, added; 3: a plain blur
  for (const bool with_next : {false, true}) {
    if (noise == 3 && (with_next || !with_blur)) continue;
    SCOPED_TRACE(testing::Message() << "conv " << conv_h << "x" << conv_w << " channels " << channels
                                    << " dtype " << dtype << " blur " << with_blur << " noise " << noise
                                    << " next " << with_next);
    const std::int64_t out_h = with_blur ? conv_h - 1 : conv_h, out_w = with_blur ? conv_w - 1 : conv_w;
    const std::int64_t out_channels = noise == 1 ? 2 * channels : channels;
    gpen::EpilogueInputs in;
    in.conv = (torch::randn({batch, channels, conv_h, conv_w}) * 3).to(dtype);
    if (with_blur) {
      in.blur = &blur;
      in.blur_taps = taps;
    }
    in.activate = noise != 3;
    if (noise != 3) in.out_scale = torch::rand({batch, channels}) + 0.5;
    if (noise == 1 || noise == 2) in.features = torch::randn({batch, channels, out_h, out_w}).to(dtype);
    in.noise_weight = 0.7;
    in.concat = noise == 1;
    in.bias = torch::randn({out_channels});
    if (with_next) in.next_scale = torch::rand({batch, out_channels}) * 2 - 1;
    in.want_plain = true;
    ASSERT_TRUE(gpen::epilogue_kernel_applies(in));

    const auto expected = gpen::fused_epilogue(in);  // on the CPU: the ATen definition
    // Both compute in fp32 and round once: at most a unit in the last place.
    const double tolerance = dtype == torch::kFloat ? 1e-5 : dtype == torch::kHalf ? 1e-3 : 8e-3;
    gpen::EpilogueOutputs first;
    for (const auto& block : kBlocks)
    for (const bool small_grid : {false, true}) {
      SCOPED_TRACE(testing::Message() << "block " << block.rows << "x" << block.columns << " small grid "
                                      << small_grid);
      EpilogueBlocking blocking;
      blocking.blur = blocking.plain = block;
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
    }
    ++cases;
  }
  EXPECT_EQ(cases, 2 * 3 * 3 * 13);
}

// The launcher rounds a requested blocking down to a compiled one, and
// reports sizes its 32-bit offsets cannot address instead of launching.
TEST(EpilogueKernelEmulation, LauncherBlockingAndLimits) {
  using gpen::cuda::compiled_epilogue_block;
  const auto same = [](EpilogueBlock a, EpilogueBlock b) { return a.rows == b.rows && a.columns == b.columns; };
  EXPECT_TRUE(same(compiled_epilogue_block(2, 1), {2, 1}));
  EXPECT_TRUE(same(compiled_epilogue_block(3, 1), {2, 1}));
  EXPECT_TRUE(same(compiled_epilogue_block(8, 1), {4, 1}));
  EXPECT_TRUE(same(compiled_epilogue_block(4, 2), {2, 2}));
  EXPECT_TRUE(same(compiled_epilogue_block(1, 3), {1, 2}));
  EXPECT_TRUE(same(compiled_epilogue_block(0, 0), {1, 1}));

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

}  // namespace
