// Compares scripts/gpu/png_imgcodecs.cpp (compiled with -Dimread=png_imread
// -Dimwrite=png_imwrite) with OpenCV's own cv::imread, pixel for pixel, on the
// PNG files named on the command line and on synthesised PNGs of each colour
// type and depth, for each imread mode; and reads what png_imwrite wrote of
// each synthesised image back with OpenCV. Exits non-zero on any difference.
#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace cv {
Mat png_imread(const String& filename, int flags);
bool png_imwrite(const String& filename, InputArray img, const std::vector<int>& params);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: check_png_imgcodecs SCRATCH_DIR [PNG...]\n");
    return 2;
  }
  const std::string scratch = argv[1];
  std::vector<std::string> files(argv + 2, argv + argc);
  cv::RNG rng(7);
  int different = 0;
  for (const int type : {CV_8UC1, CV_8UC3, CV_8UC4, CV_16UC1, CV_16UC3, CV_16UC4}) {
    cv::Mat m(37, 53, type);
    rng.fill(m, cv::RNG::UNIFORM, 0, m.depth() == CV_16U ? 65536 : 256);
    files.push_back(scratch + "/synth-" + std::to_string(type) + ".png");
    cv::imwrite(files.back(), m);
    // The stand-in's writer, read back by OpenCV.
    const std::string written = scratch + "/written-" + std::to_string(type) + ".png";
    const bool wrote = cv::png_imwrite(written, m, {cv::IMWRITE_PNG_COMPRESSION, 3});
    const cv::Mat back = cv::imread(written, cv::IMREAD_UNCHANGED);
    const bool same = wrote && back.type() == m.type() && back.size() == m.size() &&
                      cv::norm(back, m, cv::NORM_INF) == 0;
    std::printf("%-4s %s (written)\n", same ? "same" : "DIFF", written.c_str());
    different += !same;
  }
  for (const auto& file : files) {
    for (const int flags : std::initializer_list<int>{
             cv::IMREAD_UNCHANGED, cv::IMREAD_GRAYSCALE, cv::IMREAD_COLOR,
             cv::IMREAD_ANYDEPTH | cv::IMREAD_COLOR, cv::IMREAD_ANYCOLOR,
             cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION}) {
      const cv::Mat a = cv::imread(file, flags), b = cv::png_imread(file, flags);
      const bool same = !a.empty() && a.type() == b.type() && a.size() == b.size() &&
                        cv::norm(a, b, cv::NORM_INF) == 0;
      std::printf("%-4s %s, flags %d\n", same ? "same" : "DIFF", file.c_str(), flags);
      different += !same;
    }
  }
  std::printf("%d difference(s)\n", different);
  return different != 0;
}
