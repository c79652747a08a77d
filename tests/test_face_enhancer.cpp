// FaceEnhancer's aligned faces in two steps (launch_aligned, then the
// batch's finish): the same pixels as enhance_aligned, written at finish()
// and by nothing else, with batches launched before earlier ones finish.
#include <gtest/gtest.h>

#include <vector>

#include <torch/torch.h>

#include "face_enhancer.h"

namespace {

const std::string kModel = std::string(GPEN_TEST_DATA_DIR) + "/gpen-64/gpen-64.pth";

// Random 8-bit BGRx images with row padding: `count` of them, as one tensor
// of bytes, and views into it.
struct Images {
  static constexpr int kWidth = 64, kHeight = 48, kStride = kWidth * 4 + 8;
  torch::Tensor bytes;
  Images(int count, int seed) {
    torch::manual_seed(seed);
    bytes = torch::randint(0, 256, {count, kHeight * kStride}, torch::kUInt8);
  }
  Images copy() const {
    Images other(0, 0);
    other.bytes = bytes.clone();
    return other;
  }
  std::vector<gpen::ImageView> views() {
    std::vector<gpen::ImageView> v(static_cast<std::size_t>(bytes.size(0)));
    for (std::size_t i = 0; i < v.size(); ++i) {
      v[i].data = bytes[static_cast<std::int64_t>(i)].data_ptr<std::uint8_t>();
      v[i].width = kWidth;
      v[i].height = kHeight;
      v[i].row_stride = kStride;
      v[i].pixel_stride = 4;
      v[i].blue = 0, v[i].green = 1, v[i].red = 2;
    }
    return v;
  }
};

gpen::FaceEnhancer& enhancer() {
  static gpen::FaceEnhancer e{kModel, gpen::DeviceRequest::parse("cpu"), gpen::Precision::Fp32};
  return e;
}

TEST(FaceEnhancer, LaunchedBatchesWriteTheirImagesAtFinishOnly) {
  Images first(3, 1), second(2, 2);
  const Images first_before = first.copy(), second_before = second.copy();
  Images first_expected = first.copy(), second_expected = second.copy();
  enhancer().enhance_aligned(first_expected.views(), 0.8f);
  enhancer().enhance_aligned(second_expected.views(), 0.8f);

  // The second batch launched before the first finishes, as the element's
  // pipeline-depth 2 does.
  gpen::LaunchedBatch a = enhancer().launch_aligned(first.views(), 0.8f);
  gpen::LaunchedBatch b = enhancer().launch_aligned(second.views(), 0.8f);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_FALSE(a.finished());
  EXPECT_TRUE(torch::equal(first.bytes, first_before.bytes));
  EXPECT_TRUE(torch::equal(second.bytes, second_before.bytes));
  a.finish();
  EXPECT_TRUE(a.finished());
  EXPECT_TRUE(torch::equal(first.bytes, first_expected.bytes));
  EXPECT_TRUE(torch::equal(second.bytes, second_before.bytes));
  b.finish();
  EXPECT_TRUE(torch::equal(second.bytes, second_expected.bytes));
  EXPECT_FALSE(torch::equal(second.bytes, second_before.bytes));
  EXPECT_GT(a.seconds(), 0.0);
  // Finishing again writes nothing: the images are the application's now.
  first.bytes.zero_();
  a.finish();
  EXPECT_EQ(first.bytes.sum().item<std::int64_t>(), 0);
}

TEST(FaceEnhancer, ADroppedBatchLeavesItsImagesAlone) {
  Images images(2, 3);
  const Images before = images.copy();
  {
    gpen::LaunchedBatch dropped = enhancer().launch_aligned(images.views(), 1.0f);
    gpen::LaunchedBatch moved = std::move(dropped);
    EXPECT_EQ(moved.size(), 2u);
  }
  EXPECT_TRUE(torch::equal(images.bytes, before.bytes));
  // An empty batch is finished at once and touches nothing.
  gpen::LaunchedBatch empty = enhancer().launch_aligned({}, 1.0f);
  EXPECT_EQ(empty.size(), 0u);
  empty.finish();
}

}  // namespace
