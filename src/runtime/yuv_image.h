// 8-bit 4:2:0 frames (I420, NV12) as decoders give them: their planes moved
// to the network's device, turned into RGB there, and the parts of a frame
// that were changed turned back into its planes. Torch ops, so one path
// serves the CPU and CUDA: on CUDA the frame crosses as its planes (1.5
// bytes a pixel, not 3) and no CPU converts it.
#pragma once

#include <cstddef>
#include <cstdint>

#include <torch/types.h>

namespace gpen {

enum class ChromaLayout {
  Planar,       // I420: a U plane, then a V plane
  Interleaved,  // NV12: one plane of U, V pairs
};

// Y'CbCr coefficients: Kr and Kb of the colour matrix (BT.601: 0.299, 0.114;
// BT.709: 0.2126, 0.0722), and whether the values span 0-255 (JPEG) or the
// studio range (Y 16-235, Cb and Cr 16-240).
struct YuvMatrix {
  double kr = 0.299, kb = 0.114;
  bool full_range = false;
};

// Borrowed planes of one 4:2:0 frame. Chroma is (width + 1) / 2 by
// (height + 1) / 2 samples, each sited at the centre of its 2x2 block.
struct YuvView {
  ChromaLayout layout = ChromaLayout::Planar;
  int width = 0, height = 0;
  std::uint8_t* y = nullptr;
  std::ptrdiff_t y_stride = 0;
  std::uint8_t* u = nullptr;  // Interleaved: the UV plane
  std::ptrdiff_t u_stride = 0;
  std::uint8_t* v = nullptr;  // Planar only
  std::ptrdiff_t v_stride = 0;
  YuvMatrix matrix;

  int chroma_width() const { return (width + 1) / 2; }
  int chroma_height() const { return (height + 1) / 2; }
};

// A frame's planes as uint8 tensors: y [H, W], u and v [(H+1)/2, (W+1)/2].
struct YuvPlanes {
  torch::Tensor y, u, v;
};

// The view's planes on `device`. On the CPU they are the view's own bytes
// (no copy: valid while the view is); on CUDA one asynchronous copy each
// through pinned memory.
YuvPlanes upload_yuv(const YuvView& view, torch::Device device);

// [3, H, W] uint8 RGB of the planes, on their device: chroma upsampled
// bilinearly (centre-sited, as videoconvert's default linear resampler).
torch::Tensor yuv_to_rgb(const YuvPlanes& planes, const YuvMatrix& matrix);

// New planes for the rectangle of a frame at (x, y) of width x height, its
// corners taken out to even coordinates so that whole chroma blocks are
// written. `before` and `after` are the frame's RGB ([3, H, W] uint8, on the
// planes' device) before and after it was changed; pixels that did not
// change keep their luma, and 2x2 blocks with no pixel changed keep their
// chroma, bit for bit. An undefined `before`: every pixel changed.
struct YuvRegion {
  int x = 0, y = 0, width = 0, height = 0;  // x and y even
  YuvPlanes planes;  // y [height, width]; u and v [(height+1)/2, (width+1)/2]
};
YuvRegion yuv_region(const YuvPlanes& original, const torch::Tensor& before,
                     const torch::Tensor& after, const YuvMatrix& matrix, int x, int y, int width,
                     int height);

// Writes a region's planes (CPU tensors) into `view`.
void write_yuv_region(const YuvRegion& region, const YuvView& view);

}  // namespace gpen
