#include "runtime/image_tensor.h"

#include <torch/torch.h>

namespace gpen {
namespace {

// The view's bytes as a [H, W, pixel_stride] uint8 tensor sharing its memory.
torch::Tensor wrap(const ImageView& view) {
  return torch::from_blob(view.data, {view.height, view.width, view.pixel_stride},
                          {view.row_stride, view.pixel_stride, 1}, torch::kUInt8);
}

}  // namespace

// A strided copy per channel: index_select over the pixel dimension and then
// a planar copy took 1.4x (RGB) to 7.6x (RGBx, BGRx) as long for 1080p.
torch::Tensor read_rgb(const ImageView& view) {
  const auto pixels = wrap(view);
  auto rgb = torch::empty({3, view.height, view.width}, torch::kUInt8);
  const int offsets[3] = {view.red, view.green, view.blue};
  for (int c = 0; c < 3; ++c) rgb[c].copy_(pixels.select(2, offsets[c]));
  return rgb;
}

ImageView crop_view(const ImageView& view, int x, int y, int width, int height) {
  TORCH_CHECK(x >= 0 && y >= 0 && width >= 0 && height >= 0 && x + width <= view.width &&
                  y + height <= view.height,
              "crop_view: ", width, "x", height, " at ", x, ",", y, " is not inside a ",
              view.width, "x", view.height, " image");
  ImageView part = view;
  part.data = view.data + static_cast<std::ptrdiff_t>(y) * view.row_stride +
              static_cast<std::ptrdiff_t>(x) * view.pixel_stride;
  part.width = width;
  part.height = height;
  return part;
}

void write_rgb(const torch::Tensor& rgb, const ImageView& view) {
  TORCH_CHECK(rgb.dim() == 3 && rgb.size(0) == 3 && rgb.size(1) == view.height &&
                  rgb.size(2) == view.width,
              "write_rgb: tensor ", rgb.sizes(), " does not fit a ", view.width, "x", view.height,
              " image");
  auto pixels = wrap(view);
  const auto source = rgb.to(torch::kCPU, torch::kUInt8);
  const int offsets[3] = {view.red, view.green, view.blue};
  for (int c = 0; c < 3; ++c) pixels.select(2, offsets[c]).copy_(source[c]);
}

torch::Tensor to_network_range(const torch::Tensor& rgb8) {
  return rgb8.to(torch::kFloat).div(255.0).sub(0.5).div(0.5);
}

torch::Tensor to_pixel_range(const torch::Tensor& output) {
  return output.to(torch::kFloat).mul(0.5).add(0.5).clamp(0.0, 1.0).mul(255.0);
}

torch::Tensor quantize(const torch::Tensor& pixels) {
  return pixels.round().clamp(0.0, 255.0).to(torch::kUInt8);
}

}  // namespace gpen
