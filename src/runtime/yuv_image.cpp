#include "runtime/yuv_image.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include <ATen/Parallel.h>

#include <torch/torch.h>


namespace gpen {
namespace {

torch::Tensor plane_of(std::uint8_t* data, std::int64_t rows, std::int64_t columns,
                       std::int64_t channels, std::ptrdiff_t stride) {
  return torch::from_blob(data, {rows, columns, channels}, {stride, channels, 1},
                          torch::TensorOptions().dtype(torch::kUInt8));
}

// A host plane on `device`: on CUDA through pinned memory, asynchronously.
torch::Tensor to_device(const torch::Tensor& host, torch::Device device) {
  if (!device.is_cuda()) return device.is_cpu() ? host : host.to(device);
  auto pinned = torch::empty(host.sizes(), host.options().pinned_memory(true));
  pinned.copy_(host);
  // The caching host allocator keeps `pinned` until the copy has run.
  return pinned.to(device, /*non_blocking=*/true);
}

// Scales of the matrix: studio range keeps luma in 16-235, chroma in 16-240.
struct Ranges {
  float luma_scale, luma_offset, chroma_scale;
};
Ranges ranges(const YuvMatrix& m) {
  if (m.full_range) return {1.f, 0.f, 1.f};
  return {219.f / 255.f, 16.f, 224.f / 255.f};
}

torch::Tensor to_uint8(torch::Tensor values) {
  return values.round_().clamp_(0, 255).to(torch::kUInt8);
}

// Y', Cb, Cr in the planes' ranges of float RGB [3, ...] in 0-255.
std::array<torch::Tensor, 3> rgb_to_ycbcr(const torch::Tensor& rgb, const YuvMatrix& m) {
  const auto kr = static_cast<float>(m.kr), kb = static_cast<float>(m.kb);
  const float kg = 1.f - kr - kb;
  const Ranges r = ranges(m);
  const auto luma = rgb[0] * kr + rgb[1] * kg + rgb[2] * kb;
  auto cb = (rgb[2] - luma) * (r.chroma_scale / (2.f * (1.f - kb))) + 128.f;
  auto cr = (rgb[0] - luma) * (r.chroma_scale / (2.f * (1.f - kr))) + 128.f;
  return {luma * r.luma_scale + r.luma_offset, std::move(cb), std::move(cr)};
}

// Centre-sited 2x upsampling of `samples` values into `outputs` (torch's
// upsample_bilinear2d with align_corners=false: edges clamped): output 2k
// is 1/4 of sample k-1 and 3/4 of sample k, output 2k+1 3/4 of sample k and
// 1/4 of sample k+1.
void upsample_row(const float* in, std::int64_t samples, float* out, std::int64_t outputs) {
  for (std::int64_t k = 0; 2 * k < outputs; ++k) {
    const float before = in[std::max<std::int64_t>(k - 1, 0)], here = in[k];
    const float after = in[std::min(k + 1, samples - 1)];
    out[2 * k] = k == 0 ? here : 0.25f * before + 0.75f * here;
    if (2 * k + 1 < outputs) out[2 * k + 1] = k + 1 == samples ? here : 0.75f * here + 0.25f * after;
  }
}

// Rounded to nearest, halves up (torch's round, on CUDA, takes halves to even:
// a level apart at exact halves only).
std::uint8_t pixel(float value) {
  return static_cast<std::uint8_t>(std::clamp(value, 0.f, 255.f) + 0.5f);
}

// yuv_to_rgb on the CPU: one pass over the frame, rows in parallel, where
// torch's dozen whole-frame ops cost several times as much.
torch::Tensor yuv_to_rgb_on_cpu(const YuvPlanes& planes, const YuvMatrix& m) {
  const auto height = planes.y.size(0), width = planes.y.size(1);
  const auto ch = planes.u.size(0), cw = planes.u.size(1);
  const Ranges r = ranges(m);
  const auto kr = static_cast<float>(m.kr), kb = static_cast<float>(m.kb);
  const float kg = 1.f - kr - kb;
  const float to_red = 2.f * (1.f - kr) / r.chroma_scale, to_blue = 2.f * (1.f - kb) / r.chroma_scale;
  const float cb_to_green = 2.f * kb * (1.f - kb) / kg / r.chroma_scale;
  const float cr_to_green = 2.f * kr * (1.f - kr) / kg / r.chroma_scale;
  const float luma_gain = 1.f / r.luma_scale, luma_offset = r.luma_offset;
  auto rgb = torch::empty({3, height, width}, torch::kUInt8);
  const auto y_rows = planes.y.accessor<std::uint8_t, 2>();
  const auto u_rows = planes.u.accessor<std::uint8_t, 2>();
  const auto v_rows = planes.v.accessor<std::uint8_t, 2>();
  std::uint8_t* out = rgb.data_ptr<std::uint8_t>();
  const std::int64_t plane_size = height * width;
  at::parallel_for(0, height, 16, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> cb(static_cast<std::size_t>(cw)), cr(static_cast<std::size_t>(cw));
    std::vector<float> cb_row(static_cast<std::size_t>(width)), cr_row(static_cast<std::size_t>(width));
    for (std::int64_t yy = begin; yy < end; ++yy) {
      // The two chroma rows this row lies between, and its weight on the far one.
      const std::int64_t k = yy / 2;
      const std::int64_t other = yy % 2 == 0 ? std::max<std::int64_t>(k - 1, 0) : std::min(k + 1, ch - 1);
      const float far = (yy % 2 == 0 && k == 0) || (yy % 2 == 1 && k + 1 == ch) ? 0.f : 0.25f;
      for (std::int64_t x = 0; x < cw; ++x) {
        cb[x] = (1.f - far) * u_rows[k][x] + far * u_rows[other][x] - 128.f;
        cr[x] = (1.f - far) * v_rows[k][x] + far * v_rows[other][x] - 128.f;
      }
      upsample_row(cb.data(), cw, cb_row.data(), width);
      upsample_row(cr.data(), cw, cr_row.data(), width);
      const std::uint8_t* luma = &y_rows[yy][0];
      std::uint8_t* red = out + yy * width;
      std::uint8_t* green = red + plane_size;
      std::uint8_t* blue = green + plane_size;
      for (std::int64_t x = 0; x < width; ++x) {
        const float l = (static_cast<float>(luma[x]) - luma_offset) * luma_gain;
        const float b = cb_row[x], rr = cr_row[x];
        red[x] = pixel(l + rr * to_red);
        green[x] = pixel(l - b * cb_to_green - rr * cr_to_green);
        blue[x] = pixel(l + b * to_blue);
      }
    }
  });
  return rgb;
}

}  // namespace

YuvPlanes upload_yuv(const YuvView& view, torch::Device device) {
  TORCH_CHECK(view.y && view.u && view.width > 0 && view.height > 0 &&
                 (view.layout == ChromaLayout::Interleaved || view.v),
             "upload_yuv: a frame needs its planes, got ", view.width, "x", view.height);
  const std::int64_t ch = view.chroma_height(), cw = view.chroma_width();
  YuvPlanes planes;
  planes.y = to_device(plane_of(view.y, view.height, view.width, 1, view.y_stride).squeeze(2),
                       device);
  if (view.layout == ChromaLayout::Interleaved) {
    const auto uv = to_device(plane_of(view.u, ch, cw, 2, view.u_stride), device);
    planes.u = uv.select(2, 0);
    planes.v = uv.select(2, 1);
  } else {
    planes.u = to_device(plane_of(view.u, ch, cw, 1, view.u_stride).squeeze(2), device);
    planes.v = to_device(plane_of(view.v, ch, cw, 1, view.v_stride).squeeze(2), device);
  }
  return planes;
}

torch::Tensor yuv_to_rgb(const YuvPlanes& planes, const YuvMatrix& m) {
  const auto height = planes.y.size(0), width = planes.y.size(1);
  const auto ch = planes.u.size(0), cw = planes.u.size(1);
  TORCH_CHECK(planes.v.sizes() == planes.u.sizes() && ch == (height + 1) / 2 &&
                 cw == (width + 1) / 2,
             "yuv_to_rgb: chroma ", planes.u.sizes(), " does not fit luma ", planes.y.sizes());
  if (planes.y.is_cpu()) return yuv_to_rgb_on_cpu(planes, m);
  const Ranges r = ranges(m);
  const auto luma = (planes.y.to(torch::kFloat) - r.luma_offset) * (1.f / r.luma_scale);
  auto chroma = torch::stack({planes.u, planes.v}).unsqueeze(0).to(torch::kFloat);
  chroma = torch::upsample_bilinear2d(chroma, {2 * ch, 2 * cw}, /*align_corners=*/false)
               .squeeze(0)
               .slice(1, 0, height)
               .slice(2, 0, width);
  const auto cb = (chroma[0] - 128.f) * (1.f / r.chroma_scale);
  const auto cr = (chroma[1] - 128.f) * (1.f / r.chroma_scale);
  const auto kr = static_cast<float>(m.kr), kb = static_cast<float>(m.kb);
  const float kg = 1.f - kr - kb;
  const auto red = luma + cr * (2.f * (1.f - kr));
  const auto blue = luma + cb * (2.f * (1.f - kb));
  const auto green = luma - cb * (2.f * kb * (1.f - kb) / kg) - cr * (2.f * kr * (1.f - kr) / kg);
  return to_uint8(torch::stack({red, green, blue}));
}

YuvRegion yuv_region(const YuvPlanes& original, const torch::Tensor& before,
                     const torch::Tensor& after, const YuvMatrix& m, int x, int y, int width,
                     int height) {
  const int frame_height = static_cast<int>(original.y.size(0));
  const int frame_width = static_cast<int>(original.y.size(1));
  TORCH_CHECK(after.dim() == 3 && after.size(0) == 3 && after.size(1) == frame_height &&
                 after.size(2) == frame_width && after.scalar_type() == torch::kUInt8 &&
                 (!before.defined() || before.sizes() == after.sizes()),
             "yuv_region: RGB ", after.sizes(), " does not fit a ", frame_width, "x"
                               , frame_height, " frame");
  TORCH_CHECK(x >= 0 && y >= 0 && width > 0 && height > 0 && x + width <= frame_width &&
                 y + height <= frame_height,
             "yuv_region: the rectangle ", width, "x", height, " at ", x, ",", y
                                         , " leaves the frame");
  YuvRegion region;
  region.x = x & ~1;
  region.y = y & ~1;
  region.width = std::min(frame_width, (x + width + 1) & ~1) - region.x;
  region.height = std::min(frame_height, (y + height + 1) & ~1) - region.y;
  const auto rows = [&](const torch::Tensor& t, int scale) {
    const int y0 = region.y / scale, x0 = region.x / scale;
    const int h = (region.height + scale - 1) / scale, w = (region.width + scale - 1) / scale;
    return t.slice(t.dim() - 2, y0, y0 + h).slice(t.dim() - 1, x0, x0 + w);
  };
  const auto rgb8 = rows(after, 1);
  const auto rgb = rgb8.to(torch::kFloat);
  auto luma = to_uint8(rgb_to_ycbcr(rgb, m)[0]);
  const auto block = torch::avg_pool2d(rgb.unsqueeze(0), 2, 2, 0, /*ceil_mode=*/true).squeeze(0);
  const auto ycbcr = rgb_to_ycbcr(block, m);
  auto cb = to_uint8(ycbcr[1]), cr = to_uint8(ycbcr[2]);
  if (before.defined()) {
    const auto changed = rows(before, 1).ne(rgb8).any(0);
    const auto changed_block = torch::max_pool2d(changed.to(torch::kFloat).unsqueeze(0), 2, 2, 0,
                                                 1, /*ceil_mode=*/true)
                                   .squeeze(0)
                                   .gt(0.f);
    luma = torch::where(changed, luma, rows(original.y, 1));
    cb = torch::where(changed_block, cb, rows(original.u, 2));
    cr = torch::where(changed_block, cr, rows(original.v, 2));
  }
  region.planes = {std::move(luma), std::move(cb), std::move(cr)};
  return region;
}

void write_yuv_region(const YuvRegion& region, const YuvView& view) {
  const auto& p = region.planes;
  TORCH_CHECK(p.y.device().is_cpu() && p.u.device().is_cpu() && p.v.device().is_cpu(),
             "write_yuv_region: the planes must be on the CPU");
  TORCH_CHECK(region.x >= 0 && region.y >= 0 && region.x % 2 == 0 && region.y % 2 == 0 &&
                 region.x + region.width <= view.width && region.y + region.height <= view.height &&
                 p.y.size(0) == region.height && p.y.size(1) == region.width,
             "write_yuv_region: the region leaves the ", view.width, "x", view.height
                                                       , " frame");
  const std::int64_t cx = region.x / 2, cy = region.y / 2;
  const std::int64_t ch = p.u.size(0), cw = p.u.size(1);
  plane_of(view.y + region.y * view.y_stride + region.x, region.height, region.width, 1,
           view.y_stride)
      .squeeze(2)
      .copy_(p.y);
  if (view.layout == ChromaLayout::Interleaved) {
    auto uv = plane_of(view.u + cy * view.u_stride + cx * 2, ch, cw, 2, view.u_stride);
    uv.select(2, 0).copy_(p.u);
    uv.select(2, 1).copy_(p.v);
  } else {
    plane_of(view.u + cy * view.u_stride + cx, ch, cw, 1, view.u_stride).squeeze(2).copy_(p.u);
    plane_of(view.v + cy * view.v_stride + cx, ch, cw, 1, view.v_stride).squeeze(2).copy_(p.v);
  }
}

}  // namespace gpen
