// Colorization (face_colorization.py) with the gpen-64 fixture generator:
// the network images and the final faces against the colorize-64 fixtures,
// to one level.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "colorization/face_colorizer.h"
#include "face_enhancer.h"

namespace {

const std::string kData = GPEN_TEST_DATA_DIR;
const std::string kDir = kData + "/colorize-64/";

cv::Mat read(const std::string& name) {
  cv::Mat m = cv::imread(kDir + name, cv::IMREAD_COLOR);
  EXPECT_FALSE(m.empty()) << name;
  return m;
}

double max_level_diff(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size()) return 1e9;
  cv::Mat d;
  cv::absdiff(a, b, d);
  double high = 0;
  cv::minMaxLoc(d.reshape(1), nullptr, &high);
  return high;
}

gpen::FaceEnhancer& enhancer() {
  static gpen::FaceEnhancer e(kData + "/gpen-64/gpen-64.pth", torch::Device(torch::kCPU),
                              gpen::Precision::Fp32);
  return e;
}

TEST(Colorization, MatchesTheReferenceToOneLevel) {
  const std::vector<cv::Mat> gray = {read("colorize-64_in0.png"), read("colorize-64_in1.png")};
  const auto net = gpen::colorize_network_images(enhancer(), gray);
  const auto out = gpen::colorize_faces(enhancer(), gray);
  ASSERT_EQ(out.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const double n = max_level_diff(net[i], read("colorize-64_net" + std::to_string(i) + ".png"));
    const double o = max_level_diff(out[i], read("colorize-64_out" + std::to_string(i) + ".png"));
    std::cout << "face " << i << ": network image " << n << " levels, final " << o << " levels\n";
    EXPECT_LE(n, 1.0);
    EXPECT_LE(o, 1.0);
    EXPECT_EQ(out[i].size(), gray[i].size());
  }
  // The luma is the input's: the gray picture's Y, kept through YUV.
  EXPECT_GT(max_level_diff(out[0], gray[0]), 0.0);
}

}  // namespace
