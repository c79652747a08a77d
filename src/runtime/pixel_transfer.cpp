#include "runtime/pixel_transfer.h"

#include <cstring>

#include <torch/torch.h>

#ifdef GPEN_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace gpen {
namespace {

std::int64_t byte_count(const ImageView& v) {
  return (static_cast<std::int64_t>(v.height) - 1) * v.row_stride +
         static_cast<std::int64_t>(v.width) * v.pixel_stride;
}

torch::Tensor pinned_bytes(std::int64_t count) {
  return torch::empty({count}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true));
}

}  // namespace

DeviceImage::DeviceImage(const ImageView& view, torch::Device device) : view_(view) {
  TORCH_CHECK(device.is_cuda(), "DeviceImage is for CUDA devices");
  auto host = pinned_bytes(byte_count(view));
  std::memcpy(host.data_ptr(), view.data, static_cast<std::size_t>(host.numel()));
  // The caching host allocator keeps `host` until the copy has run.
  bytes_ = host.to(device, /*non_blocking=*/true);
}

torch::Tensor DeviceImage::pixels() const {
  return bytes_.as_strided({view_.height, view_.width, view_.pixel_stride},
                           {view_.row_stride, view_.pixel_stride, 1});
}

// Channel by channel on the device: an index tensor would be a copy from
// pageable host memory, which may wait for the work queued on the stream
// (the previous batch's network) before it starts.
torch::Tensor DeviceImage::rgb() const {
  const auto p = pixels();
  return torch::stack({p.select(2, view_.red), p.select(2, view_.green), p.select(2, view_.blue)});
}

#ifdef GPEN_WITH_CUDA
struct PixelDownloads::Marker {
  at::cuda::CUDAEvent event;
  void record(c10::DeviceIndex device) { event.record(c10::cuda::getCurrentCUDAStream(device)); }
  void wait() { event.synchronize(); }
};
#else
struct PixelDownloads::Marker {  // without CUDA nothing is queued on a device
  void record(c10::DeviceIndex) {}
  void wait() {}
};
#endif

torch::Tensor upload_rgb(const ImageView& view, torch::Device device) {
  if (!device.is_cuda()) return read_rgb(view).to(device);
  return DeviceImage(view, device).rgb();
}

PixelDownloads::PixelDownloads() = default;
PixelDownloads::~PixelDownloads() = default;
PixelDownloads::PixelDownloads(PixelDownloads&&) noexcept = default;
PixelDownloads& PixelDownloads::operator=(PixelDownloads&&) noexcept = default;

void PixelDownloads::add(const DeviceImage& image, const torch::Tensor& rgb) {
  const auto& v = image.view();
  TORCH_CHECK(rgb.dim() == 3 && rgb.size(0) == 3 && rgb.size(1) == v.height &&
                  rgb.size(2) == v.width,
              "PixelDownloads: ", rgb.sizes(), " does not fit a ", v.width, "x", v.height, " image");
  auto bytes = image.bytes().clone();
  auto pixels = bytes.as_strided({v.height, v.width, v.pixel_stride}, {v.row_stride, v.pixel_stride, 1});
  const int offsets[3] = {v.red, v.green, v.blue};
  for (int c = 0; c < 3; ++c) pixels.select(2, offsets[c]).copy_(rgb[c]);
  auto host = pinned_bytes(bytes.numel());
  host.copy_(bytes, /*non_blocking=*/true);
  pending_.push_back({v, host, true, std::nullopt});
  mark_queued(bytes.device().index());
}

void PixelDownloads::add(const torch::Tensor& rgb, const ImageView& into) {
  TORCH_CHECK(rgb.dim() == 3 && rgb.size(0) == 3 && rgb.size(1) == into.height &&
                  rgb.size(2) == into.width && rgb.scalar_type() == torch::kUInt8,
              "PixelDownloads: ", rgb.sizes(), " ", rgb.scalar_type(), " does not fit a ",
              into.width, "x", into.height, " image");
  if (!rgb.is_cuda()) {
    pending_.push_back({into, rgb, false, std::nullopt});
    return;
  }
  auto host = torch::empty(rgb.sizes(), rgb.options().device(torch::kCPU).pinned_memory(true));
  host.copy_(rgb, /*non_blocking=*/true);
  pending_.push_back({into, host, false, std::nullopt});
  mark_queued(rgb.device().index());
}

void PixelDownloads::add(const YuvRegion& region, const YuvView& into) {
  const torch::Device device = region.planes.y.device();
  YuvRegion host = region;
  if (device.is_cuda()) {
    auto download = [](const torch::Tensor& plane) {
      auto pinned = torch::empty(plane.sizes(), plane.options().device(torch::kCPU).pinned_memory(true));
      pinned.copy_(plane, /*non_blocking=*/true);
      return pinned;
    };
    host.planes = {download(region.planes.y), download(region.planes.u), download(region.planes.v)};
  }
  Pending pending;
  pending.yuv.emplace(std::move(host), into);
  pending_.push_back(std::move(pending));
  if (device.is_cuda()) mark_queued(device.index());
}

// Waiting on the stream would also wait for whatever is queued after these
// copies (the next batch's network): mark where they end.
void PixelDownloads::mark_queued(c10::DeviceIndex device) {
  if (!marker_) marker_ = std::make_unique<Marker>();
  marker_->record(device);
}

void PixelDownloads::finish() {
  if (marker_) marker_->wait();
  for (const auto& p : pending_) {
    if (p.yuv)
      write_yuv_region(p.yuv->first, p.yuv->second);
    else if (p.whole_bytes)
      std::memcpy(p.view.data, p.host.data_ptr(), static_cast<std::size_t>(p.host.numel()));
    else
      write_rgb(p.host, p.view);
  }
  pending_.clear();
}

}  // namespace gpen
