// cv::imread, cv::imdecode and cv::imwrite for PNG only, over libpng: what
// the test suite, the examples and the tools need of OpenCV's imgcodecs (and
// what Debian's LibTorch's OpenCV modules bind at load time, for
// scripts/gpu/rehearse.sh), for a machine that cannot carry Debian's
// libopencv-imgcodecs406 (it links GDAL and about 100 other libraries, 55 MiB
// of packages). scripts/gpu/build.sh builds it as libopencv_imgcodecs.so.406
// when that library is missing (and again when this file is newer); it is
// never part of the project's build.
//
// It follows OpenCV 4.6's imread type rules, PngDecoder's libpng
// transformations and its EXIF orientation, so the pixels are the ones OpenCV
// returns (scripts/gpu/check-png-imgcodecs.sh compares the two on a Debian
// machine). Anything else (other formats, reduced reads) is refused with a
// message and an empty Mat, so a test that needs it fails instead of reading
// other pixels; haveImageReader and haveImageWriter say so beforehand, so a
// test that needs another format can skip.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace cv {
namespace {

Mat refuse(const String& filename, const char* why) {
  std::fprintf(stderr, "png_imgcodecs: cannot read %s: %s\n", filename.c_str(), why);
  return Mat();
}

// The Mat type OpenCV's PngDecoder::readHeader reports for a PNG.
int decoder_type(int color_type, int bit_depth, bool has_transparency) {
  int channels = 1;
  switch (color_type) {
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_PALETTE:
      channels = has_transparency ? 4 : 3;
      break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
    case PNG_COLOR_TYPE_RGB_ALPHA:
      channels = 4;
      break;
    default:
      channels = 1;
  }
  return CV_MAKETYPE(bit_depth == 16 ? CV_16U : CV_8U, channels);
}

// imread's rule for the type it asks the decoder for.
int requested_type(int type, int flags) {
  if (flags == IMREAD_UNCHANGED) return type;
  if ((flags & IMREAD_ANYDEPTH) == 0) type = CV_MAKETYPE(CV_8U, CV_MAT_CN(type));
  const bool color = (flags & IMREAD_COLOR) != 0 ||
                     ((flags & IMREAD_ANYCOLOR) != 0 && CV_MAT_CN(type) > 1);
  return CV_MAKETYPE(CV_MAT_DEPTH(type), color ? 3 : 1);
}

// The EXIF orientation tag (0x0112) of IFD0, 1 (as stored) when absent.
int exif_orientation(const unsigned char* data, png_uint_32 size) {
  if (size < 8) return 1;
  const bool little = data[0] == 'I' && data[1] == 'I';
  auto u16 = [&](png_uint_32 at) -> unsigned {
    return little ? data[at] | data[at + 1] << 8 : data[at] << 8 | data[at + 1];
  };
  auto u32 = [&](png_uint_32 at) -> png_uint_32 {
    return little ? u16(at) | static_cast<png_uint_32>(u16(at + 2)) << 16
                  : static_cast<png_uint_32>(u16(at)) << 16 | u16(at + 2);
  };
  const png_uint_32 ifd = u32(4);
  if (ifd > size - 2) return 1;
  const unsigned entries = u16(ifd);
  for (unsigned i = 0; i < entries; ++i) {
    const png_uint_32 at = ifd + 2 + 12 * i;
    if (at + 12 > size) break;
    if (u16(at) == 0x0112) return static_cast<int>(u16(at + 8));
  }
  return 1;
}

// imgcodecs' ExifTransform.
void apply_orientation(Mat& image, int orientation) {
  switch (orientation) {
    case 2: flip(image, image, 1); break;
    case 3: flip(image, image, -1); break;
    case 4: flip(image, image, 0); break;
    case 5: transpose(image, image); break;
    case 6: transpose(image, image); flip(image, image, 1); break;
    case 7: transpose(image, image); flip(image, image, -1); break;
    case 8: transpose(image, image); flip(image, image, 0); break;
    default: break;
  }
}

struct PngRead {
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_infop end = nullptr;
  ~PngRead() { png_destroy_read_struct(&png, &info, &end); }
};

struct PngWrite {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngWrite() { png_destroy_write_struct(&png, &info); }
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// imwrite picks the encoder by the name's extension, as OpenCV's findEncoder.
bool png_name(const String& filename) {
  const auto dot = filename.rfind('.');
  const String extension = dot == String::npos ? String() : filename.substr(dot + 1);
  return extension == "png" || extension == "PNG";
}

// Where libpng reads from: a file, or bytes in memory for imdecode.
struct PngSource {
  std::unique_ptr<std::FILE, FileCloser> file;
  const unsigned char* data = nullptr;
  std::size_t size = 0, offset = 0;

  static PngSource open(const String& filename) {
    PngSource source;
    source.file.reset(std::fopen(filename.c_str(), "rb"));
    return source;
  }

  bool read(unsigned char* out, std::size_t n) {
    if (file) return std::fread(out, 1, n, file.get()) == n;
    if (n > size - offset) return false;
    std::memcpy(out, data + offset, n);
    offset += n;
    return true;
  }
};

void read_from_source(png_structp png, png_bytep out, png_size_t n) {
  if (!static_cast<PngSource*>(png_get_io_ptr(png))->read(out, n)) png_error(png, "truncated");
}

bool png_signature(PngSource& source) {
  unsigned char signature[8] = {};
  return source.read(signature, 8) && png_sig_cmp(signature, 0, 8) == 0;
}

// PngDecoder's reading, for imread and imdecode; `name` is for messages.
Mat decode(PngSource& source, int flags, const String& name) {
  if (flags != IMREAD_UNCHANGED && (flags & ~(IMREAD_ANYDEPTH | IMREAD_COLOR | IMREAD_ANYCOLOR |
                                                   IMREAD_IGNORE_ORIENTATION)) != 0)
    return refuse(name, "flags other than COLOR, GRAYSCALE, UNCHANGED, ANYDEPTH, ANYCOLOR, IGNORE_ORIENTATION");
  if (!png_signature(source)) return refuse(name, "not a PNG file");

  PngRead r;
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (!r.png) return refuse(name, "libpng failed");
  r.info = png_create_info_struct(r.png);
  r.end = png_create_info_struct(r.png);
  if (!r.info || !r.end) return refuse(name, "libpng failed");

  Mat image;
  std::vector<png_bytep> rows;
  if (setjmp(png_jmpbuf(r.png))) return refuse(name, "corrupt PNG");
  png_set_read_fn(r.png, &source, read_from_source);
  png_set_sig_bytes(r.png, 8);
  png_read_info(r.png, r.info);
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
  png_get_IHDR(r.png, r.info, &width, &height, &bit_depth, &color_type, nullptr, nullptr, nullptr);
  png_bytep trans = nullptr;
  int num_trans = 0;
  png_color_16p trans_values = nullptr;
  png_get_tRNS(r.png, r.info, &trans, &num_trans, &trans_values);
  const int type = requested_type(decoder_type(color_type, bit_depth, num_trans > 0), flags);
  image.create(static_cast<int>(height), static_cast<int>(width), type);

  // PngDecoder::readData's transformations, in its order.
  if (image.depth() == CV_8U && bit_depth == 16)
    png_set_strip_16(r.png);
  else
    png_set_swap(r.png);  // little-endian host
  if (image.channels() < 4)
    png_set_strip_alpha(r.png);
  else
    png_set_tRNS_to_alpha(r.png);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(r.png);
  if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && bit_depth < 8)
    png_set_expand_gray_1_2_4_to_8(r.png);
  const bool color = image.channels() > 1;
  if ((color_type & PNG_COLOR_MASK_COLOR) && color)
    png_set_bgr(r.png);
  else if (color)
    png_set_gray_to_rgb(r.png);
  else
    png_set_rgb_to_gray(r.png, 1, 0.299, 0.587);
  png_set_interlace_handling(r.png);
  png_read_update_info(r.png, r.info);

  rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) rows[y] = image.ptr(static_cast<int>(y));
  png_read_image(r.png, rows.data());
  png_read_end(r.png, r.end);

  // EXIF may come before or after the image data; UNCHANGED reads ignore it.
  if (flags != IMREAD_UNCHANGED && (flags & IMREAD_IGNORE_ORIENTATION) == 0) {
    png_uint_32 exif_size = 0;
    png_bytep exif = nullptr;
    if (png_get_valid(r.png, r.info, PNG_INFO_eXIf))
      png_get_eXIf_1(r.png, r.info, &exif_size, &exif);
    else if (png_get_valid(r.png, r.end, PNG_INFO_eXIf))
      png_get_eXIf_1(r.png, r.end, &exif_size, &exif);
    if (exif) apply_orientation(image, exif_orientation(exif, exif_size));
  }
  return image;
}

}  // namespace

Mat imread(const String& filename, int flags) {
  PngSource source = PngSource::open(filename);
  if (!source.file) return Mat();  // as OpenCV: a missing file is an empty Mat
  return decode(source, flags, filename);
}

// What the tests ask before they use a format: OpenCV reads the file's
// signature for a reader and the name's extension for a writer.
bool haveImageReader(const String& filename) {
  PngSource source = PngSource::open(filename);
  return source.file && png_signature(source);
}

bool haveImageWriter(const String& filename) { return png_name(filename); }

// A PNG in memory (what Debian's LibTorch's OpenCV modules link besides
// imread; the tests never call it).
Mat imdecode(InputArray buf, int flags) {
  const Mat bytes = buf.getMat();
  if (bytes.empty() || !bytes.isContinuous() || bytes.depth() != CV_8U) return Mat();
  PngSource source;
  source.data = bytes.ptr();
  source.size = bytes.total() * bytes.elemSize();
  return decode(source, flags, "<buffer>");
}

Mat imdecode(InputArray buf, int flags, Mat* dst) {
  const Mat image = imdecode(buf, flags);
  if (dst) *dst = image;  // shares the pixels, as OpenCV's returned Mat does
  return image;
}

// 8- or 16-bit images of 1, 3 (BGR) or 4 (BGRA) channels to a .png file, as
// PngEncoder writes them; other formats are refused, and so are the PNG
// parameters that would change the file other than its compression level.
// Parameters for other formats are ignored, as PngEncoder ignores them (a
// program that asks for JPEG quality 85 writes the same PNG with OpenCV).
bool imwrite(const String& filename, InputArray img, const std::vector<int>& params) {
  const auto fail = [&](const char* why) {
    std::fprintf(stderr, "png_imgcodecs: cannot write %s: %s\n", filename.c_str(), why);
    return false;
  };
  if (!png_name(filename)) return fail("only PNG files can be written here");
  int level = 1;  // PngEncoder's default (Z_BEST_SPEED)
  for (std::size_t i = 0; i + 1 < params.size(); i += 2) {
    if (params[i] == IMWRITE_PNG_STRATEGY || params[i] == IMWRITE_PNG_BILEVEL)
      return fail("IMWRITE_PNG_STRATEGY and IMWRITE_PNG_BILEVEL are not supported here");
    if (params[i] == IMWRITE_PNG_COMPRESSION) level = params[i + 1];
  }
  const Mat image = img.getMat();
  const int channels = image.channels();
  if (image.empty() || (image.depth() != CV_8U && image.depth() != CV_16U) ||
      (channels != 1 && channels != 3 && channels != 4))
    return fail("not an 8- or 16-bit image of 1, 3 or 4 channels");
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(filename.c_str(), "wb"));
  if (!file) return fail("cannot open the file");

  PngWrite w;
  w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (!w.png) return fail("libpng failed");
  w.info = png_create_info_struct(w.png);
  if (!w.info) return fail("libpng failed");
  std::vector<png_bytep> rows(static_cast<std::size_t>(image.rows));
  if (setjmp(png_jmpbuf(w.png))) return fail("libpng failed");
  png_init_io(w.png, file.get());
  png_set_compression_level(w.png, level);
  const int color_type = channels == 1 ? PNG_COLOR_TYPE_GRAY
                         : channels == 3 ? PNG_COLOR_TYPE_RGB
                                         : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_IHDR(w.png, w.info, static_cast<png_uint_32>(image.cols), static_cast<png_uint_32>(image.rows),
               image.depth() == CV_16U ? 16 : 8, color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
  png_write_info(w.png, w.info);
  if (channels > 1) png_set_bgr(w.png);
  if (image.depth() == CV_16U) png_set_swap(w.png);  // little-endian host
  for (int y = 0; y < image.rows; ++y) rows[static_cast<std::size_t>(y)] = const_cast<png_bytep>(image.ptr(y));
  png_write_image(w.png, rows.data());
  png_write_end(w.png, w.info);
  return true;
}

}  // namespace cv
