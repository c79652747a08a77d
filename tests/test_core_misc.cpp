// Small pieces of the core: settings parsing, batch policy, pixel layout.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <torch/torch.h>

#include "batch_policy.h"
#include "batch_size_cache.h"
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

namespace {

// A fresh folder for one test's cache file.
std::filesystem::path cache_dir(const char* name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("gpen-batch-cache-" + std::string(name) + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

std::string contents(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

gpen::BatchChoice measured(int batch) {
  gpen::BatchChoice c;
  c.batch = batch;
  c.fits = 64;
  c.memory = {100u << 30, 300u << 20};
  c.samples = {{1, 80.5}, {2, 150.25}, {batch, 900.0}};
  return c;
}

}  // namespace

TEST(BatchSizeCache, MissingThenStoredThenFound) {
  const auto dir = cache_dir("missing");
  const gpen::BatchSizeCache cache((dir / "sub" / "batch-size.txt").string());
  EXPECT_FALSE(cache.find("H200 | gpen-512 | fp16"));
  ASSERT_TRUE(cache.store("H200 | gpen-512 | fp16", measured(32)));
  const auto found = cache.find("H200 | gpen-512 | fp16");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->batch, 32);
  EXPECT_EQ(found->fits, 64);
  EXPECT_EQ(found->memory.per_face_bytes, 300u << 20);
  ASSERT_EQ(found->samples.size(), 3u);
  EXPECT_DOUBLE_EQ(found->samples[1].faces_per_second, 150.25);
  // Another precision is another key.
  EXPECT_FALSE(cache.find("H200 | gpen-512 | bf16"));
  std::filesystem::remove_all(dir);
}

TEST(BatchSizeCache, AnotherGpusLinesAreKeptButNotUsed) {
  const auto dir = cache_dir("foreign");
  const gpen::BatchSizeCache cache((dir / "batch-size.txt").string());
  ASSERT_TRUE(cache.store("H100 | gpen-512 | fp16", measured(64)));
  EXPECT_FALSE(cache.find("H200 | gpen-512 | fp16"));
  ASSERT_TRUE(cache.store("H200 | gpen-512 | fp16", measured(32)));
  EXPECT_EQ(cache.find("H100 | gpen-512 | fp16")->batch, 64);
  EXPECT_EQ(cache.find("H200 | gpen-512 | fp16")->batch, 32);
  // Measured again: the line is replaced, not doubled.
  ASSERT_TRUE(cache.store("H200 | gpen-512 | fp16", measured(16)));
  EXPECT_EQ(cache.find("H200 | gpen-512 | fp16")->batch, 16);
  const std::string text = contents(dir / "batch-size.txt");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  std::filesystem::remove_all(dir);
}

TEST(BatchSizeCache, CorruptLinesAreIgnoredAndRewritten) {
  const auto dir = cache_dir("corrupt");
  std::filesystem::create_directories(dir);
  const auto path = dir / "batch-size.txt";
  {
    std::ofstream out(path);
    out << "garbage\n"
        << "gst-gpen-batch-v1\tK\t0\t64\t1\t1\t\n"          // batch 0
        << "gst-gpen-batch-v1\tK\t12abc\t64\t1\t1\t\n"      // not a number
        << "gst-gpen-batch-v1\tK\t65\t65\t1\t1\t\n"         // over the largest batch
        << "gst-gpen-batch-v1\tK\t8\t4\t1\t1\t\n"           // more than fits
        << "gst-gpen-batch-v1\tK\t8\t64\t1\t1\t1:x\n"       // a bad sample
        << "gst-gpen-batch-v0\tK\t8\t64\t1\t1\t\n"          // another version
        << std::string("\0\xff\n", 3);
  }
  const gpen::BatchSizeCache cache(path.string());
  EXPECT_FALSE(cache.find("K"));
  ASSERT_TRUE(cache.store("K", measured(8)));
  EXPECT_EQ(cache.find("K")->batch, 8);
  const std::string text = contents(path);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  // A key with a tab or a newline stays one field.
  ASSERT_TRUE(cache.store("a\tb\nc", measured(4)));
  EXPECT_EQ(cache.find("a\tb\nc")->batch, 4);
  std::filesystem::remove_all(dir);
}

TEST(BatchSizeCache, WhereTheFileIs) {
  const char* saved[3] = {std::getenv("GPEN_BATCH_CACHE"), std::getenv("XDG_CACHE_HOME"),
                          std::getenv("HOME")};
  const std::string keep[3] = {saved[0] ? saved[0] : "", saved[1] ? saved[1] : "",
                               saved[2] ? saved[2] : ""};
  unsetenv("GPEN_BATCH_CACHE");
  setenv("XDG_CACHE_HOME", "/cache", 1);
  EXPECT_EQ(gpen::BatchSizeCache::default_path(), "/cache/gst-gpen/batch-size.txt");
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(gpen::BatchSizeCache::default_path(), "/home/u/.cache/gst-gpen/batch-size.txt");
  setenv("GPEN_BATCH_CACHE", "0", 1);
  EXPECT_EQ(gpen::BatchSizeCache::default_path(), "");
  EXPECT_FALSE(gpen::BatchSizeCache("").store("K", measured(8)));
  setenv("GPEN_BATCH_CACHE", "/x/y.txt", 1);
  EXPECT_EQ(gpen::BatchSizeCache::default_path(), "/x/y.txt");
  const char* names[3] = {"GPEN_BATCH_CACHE", "XDG_CACHE_HOME", "HOME"};
  for (int i = 0; i < 3; ++i) {
    if (saved[i])
      setenv(names[i], keep[i].c_str(), 1);
    else
      unsetenv(names[i]);
  }
}

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
