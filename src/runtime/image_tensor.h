// Moving 8-bit interleaved pixels (any channel order, padding and stride)
// into network tensors and back.
#pragma once

#include <cstddef>
#include <cstdint>

#include <torch/types.h>

namespace gpen {

// Borrowed pixels of one 8-bit image with at least R, G and B per pixel.
struct ImageView {
  std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  std::ptrdiff_t row_stride = 0;  // bytes from one row to the next
  int pixel_stride = 3;           // bytes from one pixel to the next
  int red = 0, green = 1, blue = 2;  // byte offsets of the channels in a pixel
};

// The rectangle [x, x + width) x [y, y + height) of `view`, which it must lie in.
ImageView crop_view(const ImageView& view, int x, int y, int width, int height);

// [3, H, W] uint8 RGB copy of the view's pixels (CPU).
torch::Tensor read_rgb(const ImageView& view);
// Writes [3, H, W] uint8 RGB into the view; other bytes (alpha, padding) are untouched.
void write_rgb(const torch::Tensor& rgb, const ImageView& view);

// uint8 [.., 3, H, W] -> float in [-1, 1], as the reference's img2tensor.
torch::Tensor to_network_range(const torch::Tensor& rgb8);
// Network output -> float in [0, 255], clipped as the reference's tensor2img.
torch::Tensor to_pixel_range(const torch::Tensor& output);
// Float [0, 255] -> uint8. We round to nearest where the reference truncates
// (numpy astype): truncation darkens every pixel by half a level on average.
torch::Tensor quantize(const torch::Tensor& pixels);

}  // namespace gpen
