// 4:2:0 frames (I420, NV12): conversion to RGB against OpenCV's and the
// JPEG formula, the two layouts alike, and the write-back of a changed
// region that leaves every unchanged pixel's planes bit for bit.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "runtime/yuv_image.h"

namespace {

// An I420 frame the test owns: planes with padded rows.
struct I420 {
  int width, height;
  torch::Tensor y, u, v;  // [rows, stride] with the image in the left columns

  I420(int w, int h, int seed) : width(w), height(h) {
    torch::manual_seed(seed);
    y = torch::randint(16, 236, {h, w + 5}, torch::kUInt8);
    u = torch::randint(16, 241, {(h + 1) / 2, (w + 1) / 2 + 3}, torch::kUInt8);
    v = torch::randint(16, 241, {(h + 1) / 2, (w + 1) / 2 + 3}, torch::kUInt8);
  }
  gpen::YuvView view() {
    gpen::YuvView view;
    view.width = width, view.height = height;
    view.y = y.data_ptr<std::uint8_t>(), view.y_stride = y.size(1);
    view.u = u.data_ptr<std::uint8_t>(), view.u_stride = u.size(1);
    view.v = v.data_ptr<std::uint8_t>(), view.v_stride = v.size(1);
    return view;
  }
};

torch::Tensor rgb_of(const gpen::YuvView& view) {
  return gpen::yuv_to_rgb(gpen::upload_yuv(view, torch::kCPU), view.matrix);
}

int max_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kInt) - b.to(torch::kInt)).abs().max().item<int>();
}

TEST(YuvImage, MatchesOpenCvWhereChromaIsFlat) {
  // OpenCV's I420 conversion is BT.601 studio range with nearest chroma;
  // with chroma the same over the frame both interpolations agree.
  for (const auto& [cb, cr] : {std::pair{128, 128}, {60, 200}, {230, 40}, {16, 240}}) {
    const int w = 32, h = 16;
    torch::manual_seed(cb);
    auto packed = torch::empty({h * 3 / 2, w}, torch::kUInt8);
    packed.slice(0, 0, h).copy_(torch::randint(16, 236, {h, w}, torch::kUInt8));
    packed.slice(0, h, h + h / 4).fill_(cb);
    packed.slice(0, h + h / 4).fill_(cr);
    cv::Mat i420(h * 3 / 2, w, CV_8UC1, packed.data_ptr());
    cv::Mat rgb;
    cv::cvtColor(i420, rgb, cv::COLOR_YUV2RGB_I420);
    const auto expected =
        torch::from_blob(rgb.data, {h, w, 3}, torch::kUInt8).permute({2, 0, 1}).clone();

    gpen::YuvView view;
    view.width = w, view.height = h;
    view.y = packed.data_ptr<std::uint8_t>(), view.y_stride = w;
    view.u = view.y + h * w, view.u_stride = w / 2;
    view.v = view.u + h * w / 4, view.v_stride = w / 2;
    EXPECT_LE(max_difference(rgb_of(view), expected), 1) << "cb " << cb << " cr " << cr;
  }
}

TEST(YuvImage, FullRangeFollowsTheJpegFormula) {
  std::uint8_t y[4] = {0, 80, 160, 255}, u[1] = {90}, v[1] = {170};
  gpen::YuvView view;
  view.width = 2, view.height = 2;
  view.y = y, view.y_stride = 2, view.u = u, view.u_stride = 1, view.v = v, view.v_stride = 1;
  view.matrix.full_range = true;
  const auto rgb = rgb_of(view);
  for (int i = 0; i < 4; ++i) {
    const double l = y[i], cb = u[0] - 128.0, cr = v[0] - 128.0;
    const double expected[3] = {l + 1.402 * cr, l - 0.344136 * cb - 0.714136 * cr, l + 1.772 * cb};
    for (int c = 0; c < 3; ++c) {
      const double clamped = std::clamp(expected[c], 0.0, 255.0);
      EXPECT_NEAR(rgb[c][i / 2][i % 2].item<int>(), clamped, 0.51) << "pixel " << i << " channel " << c;
    }
  }
}

TEST(YuvImage, Nv12AndI420GiveTheSameColours) {
  I420 frame(37, 23, 1);  // odd sizes: the last chroma sample covers one column and row
  const auto i420 = frame.view();
  auto uv = torch::stack({frame.u.slice(1, 0, 19), frame.v.slice(1, 0, 19)}, 2).contiguous();
  gpen::YuvView nv12 = i420;
  nv12.layout = gpen::ChromaLayout::Interleaved;
  nv12.u = uv.data_ptr<std::uint8_t>(), nv12.u_stride = 19 * 2, nv12.v = nullptr;
  for (const auto& matrix : {gpen::YuvMatrix{}, gpen::YuvMatrix{0.2126, 0.0722, false},
                             gpen::YuvMatrix{0.299, 0.114, true}}) {
    gpen::YuvView a = i420, b = nv12;
    a.matrix = b.matrix = matrix;
    EXPECT_TRUE(torch::equal(rgb_of(a), rgb_of(b)));
  }
}

TEST(YuvImage, WritingARegionBackKeepsEveryUnchangedPixel) {
  I420 frame(37, 23, 2);
  const auto y0 = frame.y.clone(), u0 = frame.u.clone(), v0 = frame.v.clone();
  auto view = frame.view();
  view.matrix = {0.2126, 0.0722, false};
  const auto before = rgb_of(view);
  auto after = before.clone();
  // A patch from (5, 7) to (13, 12): the blocks it touches are rows 3-6 and
  // columns 2-6 of the chroma planes.
  after.slice(1, 7, 13).slice(2, 5, 14).fill_(200);
  const auto region = gpen::yuv_region(gpen::upload_yuv(view, torch::kCPU), before, after,
                                       view.matrix, 3, 3, 20, 15);
  EXPECT_EQ(region.x, 2);
  EXPECT_EQ(region.y, 2);
  EXPECT_EQ(region.width, 22);  // to 24, an even column
  EXPECT_EQ(region.height, 16);
  gpen::write_yuv_region(region, view);

  auto luma_changed = torch::zeros({23, 37}, torch::kBool);
  luma_changed.slice(0, 7, 13).slice(1, 5, 14).fill_(true);
  const auto luma = frame.y.slice(1, 0, 37), luma0 = y0.slice(1, 0, 37);
  EXPECT_TRUE(torch::equal(luma.masked_select(~luma_changed), luma0.masked_select(~luma_changed)));
  EXPECT_FALSE(torch::equal(luma, luma0));
  auto block_changed = torch::zeros({12, 22}, torch::kBool);  // the planes with their padding
  block_changed.slice(0, 3, 7).slice(1, 2, 7).fill_(true);
  for (const auto& [plane, plane0] : {std::pair{frame.u, u0}, {frame.v, v0}}) {
    EXPECT_TRUE(torch::equal(plane.masked_select(~block_changed), plane0.masked_select(~block_changed)));
  }
  // Inside the patch, where the chroma interpolates between blocks wholly
  // painted (rows 9-10, columns 8-11), the colour is the one painted.
  const auto now = rgb_of(view);
  EXPECT_LE(max_difference(now.slice(1, 9, 11).slice(2, 8, 12), after.slice(1, 9, 11).slice(2, 8, 12)), 1);
}

TEST(YuvImage, AWholeSmoothFrameGoesThereAndBack) {
  const int w = 64, h = 48;
  const auto ys = torch::linspace(0, 1, h).view({1, h, 1}), xs = torch::linspace(0, 1, w).view({1, 1, w});
  const auto rgb = (torch::stack({xs.expand({1, h, w})[0], ys.expand({1, h, w})[0],
                                  ((xs + ys) / 2).expand({1, h, w})[0]}) * 200 + 20)
                       .round()
                       .to(torch::kUInt8);
  I420 frame(w, h, 3);
  auto view = frame.view();
  const auto region = gpen::yuv_region(gpen::upload_yuv(view, torch::kCPU), torch::Tensor(), rgb,
                                       view.matrix, 0, 0, w, h);
  gpen::write_yuv_region(region, view);
  EXPECT_LE(max_difference(rgb_of(view), rgb), 3);
}

TEST(YuvImage, BadArgumentsAreErrors) {
  I420 frame(8, 8, 4);
  auto view = frame.view();
  const auto planes = gpen::upload_yuv(view, torch::kCPU);
  const auto rgb = gpen::yuv_to_rgb(planes, view.matrix);
  EXPECT_THROW(gpen::yuv_region(planes, rgb, rgb, view.matrix, 4, 4, 8, 8), c10::Error);
  EXPECT_THROW(gpen::yuv_region(planes, rgb, rgb.slice(1, 0, 4), view.matrix, 0, 0, 4, 4),
               c10::Error);
  view.u = nullptr;
  EXPECT_THROW(gpen::upload_yuv(view, torch::kCPU), c10::Error);
}

}  // namespace
