// Small pieces of the core: settings parsing, batch policy, pixel layout.
#include <gtest/gtest.h>

#include <vector>

#include <torch/torch.h>

#include "batch_policy.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/image_tensor.h"
#include "runtime/pixel_transfer.h"
#include "runtime/precision.h"

namespace {

TEST(DeviceRequest, Parses) {
  EXPECT_EQ(gpen::DeviceRequest::parse("auto").kind, gpen::DeviceRequest::Kind::Auto);
  EXPECT_EQ(gpen::DeviceRequest::parse("cpu").kind, gpen::DeviceRequest::Kind::Cpu);
  const auto cuda = gpen::DeviceRequest::parse("cuda");
  EXPECT_EQ(cuda.kind, gpen::DeviceRequest::Kind::Cuda);
  EXPECT_EQ(cuda.index, -1);
  const auto cuda3 = gpen::DeviceRequest::parse("cuda:3");
  EXPECT_EQ(cuda3.index, 3);
  EXPECT_EQ(cuda3.to_string(), "cuda:3");
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", "CPU", "cuda:12345"})
    EXPECT_THROW(gpen::DeviceRequest::parse(bad), gpen::Error) << bad;
}

TEST(DeviceRequest, ResolvesWithoutSilentFallback) {
  EXPECT_EQ(gpen::resolve_device(gpen::DeviceRequest::parse("cpu")), torch::Device(torch::kCPU));
  if (gpen::cuda_device_count() == 0) {
    EXPECT_EQ(gpen::resolve_device(gpen::DeviceRequest::parse("auto")), torch::Device(torch::kCPU));
    EXPECT_THROW(gpen::resolve_device(gpen::DeviceRequest::parse("cuda")), gpen::Error);
    EXPECT_THROW(gpen::resolve_device(gpen::DeviceRequest::parse("cuda:0")), gpen::Error);
  } else {
    EXPECT_TRUE(gpen::resolve_device(gpen::DeviceRequest::parse("auto")).is_cuda());
    EXPECT_THROW(gpen::resolve_device(gpen::DeviceRequest::parse("cuda:99")), gpen::Error);
  }
}

TEST(Precision, ParsesAndResolves) {
  EXPECT_EQ(gpen::parse_precision("bf16"), gpen::Precision::Bf16);
  EXPECT_THROW(gpen::parse_precision("int8"), gpen::Error);
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA, 0);
  EXPECT_EQ(gpen::effective_precision(gpen::Precision::Fp16, cpu), gpen::Precision::Fp32);
  EXPECT_EQ(gpen::effective_precision(gpen::Precision::Bf16, cpu), gpen::Precision::Bf16);
  EXPECT_EQ(gpen::effective_precision(gpen::Precision::Auto, cpu), gpen::Precision::Fp32);
  EXPECT_EQ(gpen::effective_precision(gpen::Precision::Auto, cuda), gpen::Precision::Fp16);
  EXPECT_EQ(gpen::effective_precision(gpen::Precision::Bf16, cuda), gpen::Precision::Bf16);
  EXPECT_EQ(gpen::scalar_type(gpen::Precision::Bf16), torch::kBFloat16);
}

TEST(BatchPolicy, CpuIsOne) {
  EXPECT_EQ(gpen::choose_batch_size(false, {1ull << 40, 1}), 1);
}

TEST(BatchPolicy, CudaFitsFreeMemory) {
  const std::size_t mib = 1 << 20;
  // 8 GiB free at 80% headroom, 400 MiB per face: 16 faces fit.
  EXPECT_EQ(gpen::choose_batch_size(true, {8192 * mib, 400 * mib}), 16);
  EXPECT_EQ(gpen::choose_batch_size(true, {8192 * mib, 400 * mib}, 8), 8);
  EXPECT_EQ(gpen::choose_batch_size(true, {100 * mib, 400 * mib}), 1);  // never zero
  EXPECT_EQ(gpen::choose_batch_size(true, {1ull << 40, mib}), gpen::kMaxBatchSize);
  EXPECT_EQ(gpen::choose_batch_size(true, {1ull << 40, 0}), 1);  // unknown cost
}

// A 5x3 BGRx image with 4 bytes of row padding.
struct PaddedImage {
  int width = 5, height = 3, stride = 24;
  std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(24 * 3);
  gpen::ImageView view() {
    gpen::ImageView v;
    v.data = bytes.data();
    v.width = width;
    v.height = height;
    v.row_stride = stride;
    v.pixel_stride = 4;
    v.blue = 0;
    v.green = 1;
    v.red = 2;
    return v;
  }
};

TEST(ImageTensor, ReadsChannelsThroughStrides) {
  PaddedImage image;
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) {
      std::uint8_t* p = &image.bytes[y * image.stride + x * 4];
      p[0] = static_cast<std::uint8_t>(10 * x + y);        // B
      p[1] = static_cast<std::uint8_t>(100 + x);           // G
      p[2] = static_cast<std::uint8_t>(200 + y);           // R
      p[3] = 77;                                           // x
    }
  const auto rgb = gpen::read_rgb(image.view());
  ASSERT_EQ(rgb.sizes(), torch::IntArrayRef({3, 3, 5}));
  EXPECT_EQ(rgb[0][2][4].item<int>(), 202);
  EXPECT_EQ(rgb[1][2][4].item<int>(), 104);
  EXPECT_EQ(rgb[2][2][4].item<int>(), 42);
}

TEST(ImageTensor, WritesOnlyColourBytes) {
  PaddedImage image;
  std::fill(image.bytes.begin(), image.bytes.end(), 9);
  auto rgb = torch::zeros({3, 3, 5}, torch::kUInt8);
  rgb[0].fill_(1);
  rgb[1].fill_(2);
  rgb[2].fill_(3);
  gpen::write_rgb(rgb, image.view());
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 5; ++x) {
      const std::uint8_t* p = &image.bytes[y * image.stride + x * 4];
      EXPECT_EQ(p[0], 3);
      EXPECT_EQ(p[1], 2);
      EXPECT_EQ(p[2], 1);
      EXPECT_EQ(p[3], 9);  // padding byte untouched
    }
    for (int pad = 20; pad < 24; ++pad) EXPECT_EQ(image.bytes[y * image.stride + pad], 9);
  }
}

TEST(PixelTransfer, OnTheCpuUploadReadsAndDownloadsWriteAtFinish) {
  PaddedImage image;
  for (std::size_t i = 0; i < image.bytes.size(); ++i) image.bytes[i] = static_cast<std::uint8_t>(i * 7);
  const auto uploaded = gpen::upload_rgb(image.view(), torch::kCPU);
  EXPECT_TRUE(torch::equal(uploaded, gpen::read_rgb(image.view())));

  const std::vector<std::uint8_t> before = image.bytes;
  const auto restored = 255 - uploaded;
  gpen::PixelDownloads downloads;
  downloads.add(restored, image.view());
  EXPECT_FALSE(downloads.empty());
  EXPECT_EQ(image.bytes, before);  // nothing written before finish()
  downloads.finish();
  EXPECT_TRUE(downloads.empty());
  PaddedImage expected;
  expected.bytes = before;
  gpen::write_rgb(restored, expected.view());
  EXPECT_EQ(image.bytes, expected.bytes);  // colours only: padding as it was
  EXPECT_THROW(downloads.add(restored.slice(2, 1), image.view()), c10::Error);
}

TEST(ImageTensor, RangesAndRounding) {
  const auto pixels = torch::tensor({0, 128, 255}, torch::kUInt8);
  const auto net = gpen::to_network_range(pixels);
  EXPECT_FLOAT_EQ(net[0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(net[2].item<float>(), 1.0f);
  // Back to 8 bits exactly.
  EXPECT_TRUE(torch::equal(gpen::quantize(gpen::to_pixel_range(net)), pixels));
  // Out-of-range network outputs clip; 0.6 rounds to 1 (truncation would give 0).
  const auto out = gpen::quantize(gpen::to_pixel_range(torch::tensor({-3.0f, 3.0f, 0.6f / 255 * 2 - 1})));
  EXPECT_EQ(out[0].item<int>(), 0);
  EXPECT_EQ(out[1].item<int>(), 255);
  EXPECT_EQ(out[2].item<int>(), 1);
}

}  // namespace
