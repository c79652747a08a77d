// Compares scripts/gpu/png_imgcodecs.cpp (compiled with -Dimread=png_imread
// and the like for imwrite, imdecode and haveImageReader/Writer) with
// OpenCV's own functions: cv::imread, pixel for pixel, on the PNG files named
// on the command line and on synthesised PNGs of each colour type and depth,
// for each imread mode, and cv::imdecode on the same bytes in memory; what
// png_imwrite wrote of each synthesised image, read back with OpenCV (with a
// compression level, and with another format's parameter, which both ignore);
// and haveImageReader and haveImageWriter, which must say yes where OpenCV
// does for PNG and no for other formats. Exits non-zero on any difference.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace cv {
Mat png_imread(const String& filename, int flags);
bool png_imwrite(const String& filename, InputArray img, const std::vector<int>& params);
Mat png_imdecode(InputArray buf, int flags);
Mat png_imdecode(InputArray buf, int flags, Mat* dst);
bool png_haveImageReader(const String& filename);
bool png_haveImageWriter(const String& filename);
}

namespace {

bool equal(const cv::Mat& a, const cv::Mat& b) {
  return !a.empty() && a.type() == b.type() && a.size() == b.size() &&
         cv::norm(a, b, cv::NORM_INF) == 0;
}

std::vector<uchar> bytes_of(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

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
    for (const std::vector<int>& params : {std::vector<int>{cv::IMWRITE_PNG_COMPRESSION, 3},
                                           std::vector<int>{cv::IMWRITE_JPEG_QUALITY, 85}}) {
      const bool wrote = cv::png_imwrite(written, m, params);
      const bool same = wrote && equal(cv::imread(written, cv::IMREAD_UNCHANGED), m);
      std::printf("%-4s %s (written, parameter %d)\n", same ? "same" : "DIFF", written.c_str(),
                  params[0]);
      different += !same;
    }
    const bool refused = !cv::png_imwrite(scratch + "/refused.png", m, {cv::IMWRITE_PNG_BILEVEL, 1});
    std::printf("%-4s IMWRITE_PNG_BILEVEL refused\n", refused ? "same" : "DIFF");
    different += !refused;
  }
  // Readers by the file's signature (a JPEG written by OpenCV is not a PNG),
  // writers by the name's extension.
  const std::string jpeg = scratch + "/not-a-png.jpg";
  cv::imwrite(jpeg, cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(128)));
  for (const auto& [name, expected] : std::vector<std::pair<std::string, bool>>{
           {files.front(), true}, {jpeg, false}, {scratch + "/missing.png", false}}) {
    const bool same = cv::png_haveImageReader(name) == expected &&
                      cv::haveImageReader(name) == (expected || name == jpeg);
    std::printf("%-4s haveImageReader(%s)\n", same ? "same" : "DIFF", name.c_str());
    different += !same;
  }
  for (const auto& [name, expected] : std::vector<std::pair<std::string, bool>>{
           {"a.png", true}, {"a.PNG", true}, {"a.jpg", false}, {"a.bmp", false}, {"a", false}}) {
    const bool same = cv::png_haveImageWriter(name) == expected &&
                      cv::haveImageWriter(name) == (expected || name != "a");
    std::printf("%-4s haveImageWriter(%s)\n", same ? "same" : "DIFF", name.c_str());
    different += !same;
  }
  for (const auto& file : files) {
    const std::vector<uchar> bytes = bytes_of(file);
    for (const int flags : std::initializer_list<int>{
             cv::IMREAD_UNCHANGED, cv::IMREAD_GRAYSCALE, cv::IMREAD_COLOR,
             cv::IMREAD_ANYDEPTH | cv::IMREAD_COLOR, cv::IMREAD_ANYCOLOR,
             cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION}) {
      const cv::Mat a = cv::imread(file, flags), b = cv::png_imread(file, flags);
      const bool same = equal(a, b);
      std::printf("%-4s %s, flags %d\n", same ? "same" : "DIFF", file.c_str(), flags);
      different += !same;
      // The same bytes from memory.
      cv::Mat into;
      const cv::Mat c = cv::imdecode(bytes, flags), d = cv::png_imdecode(bytes, flags, &into);
      const bool same_decoded = equal(c, d) && equal(c, into) && equal(a, c);
      std::printf("%-4s %s, flags %d (imdecode)\n", same_decoded ? "same" : "DIFF", file.c_str(), flags);
      different += !same_decoded;
    }
  }
  // A truncated PNG in memory is an empty Mat, as with OpenCV.
  std::vector<uchar> truncated = bytes_of(files.front());
  truncated.resize(truncated.size() / 2);
  const bool refused = cv::png_imdecode(truncated, cv::IMREAD_COLOR).empty() &&
                       cv::imdecode(truncated, cv::IMREAD_COLOR).empty();
  std::printf("%-4s truncated buffer refused\n", refused ? "same" : "DIFF");
  different += !refused;
  std::printf("%d difference(s)\n", different);
  return different != 0;
}
