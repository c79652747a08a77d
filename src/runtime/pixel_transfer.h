// Interleaved 8-bit images to and from a CUDA device: one copy through
// pinned memory each way (asynchronous, so a batch's uploads queue behind
// each other and the host waits once, for the batch's last download), with
// channel order, pixel stride and row padding handled on the device instead
// of by the CPU. upload_rgb and PixelDownloads' planar form work on the CPU
// too, so that callers need no second path.
#pragma once

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "runtime/image_tensor.h"
#include "runtime/yuv_image.h"

namespace gpen {

// An image's bytes on the device; `rgb()` reads its colour channels there.
class DeviceImage {
 public:
  // Queues the upload of `view`'s bytes (rows and their padding) on the
  // current stream; the view must stay valid until then only.
  DeviceImage(const ImageView& view, torch::Device device);

  // [3, H, W] uint8 RGB on the device.
  torch::Tensor rgb() const;
  const ImageView& view() const { return view_; }
  const torch::Tensor& bytes() const { return bytes_; }

 private:
  torch::Tensor pixels() const;  // [H, W, pixel_stride] over bytes_
  ImageView view_;
  torch::Tensor bytes_;  // uint8 [(H - 1) * row_stride + W * pixel_stride]
};

// [3, H, W] uint8 RGB of `view` on `device`: read_rgb on the CPU; on CUDA
// the bytes cross once through pinned memory and are unpacked there. The
// view must be valid during the call only.
torch::Tensor upload_rgb(const ImageView& view, torch::Device device);

// Writes results back into their images: add() queues each copy, finish()
// waits for them and copies into the images. Only the colour bytes change.
// finish() waits for these copies only, not for work queued on the stream
// after them, so the device can go on with the next batch meanwhile.
class PixelDownloads {
 public:
  PixelDownloads();
  ~PixelDownloads();
  PixelDownloads(PixelDownloads&&) noexcept;
  PixelDownloads& operator=(PixelDownloads&&) noexcept;

  // `rgb`: [3, H, W] uint8 on the device, for `image`'s view: its bytes are
  // written back whole, as they were read but for the colours.
  void add(const DeviceImage& image, const torch::Tensor& rgb);
  // `rgb`: [3, H, W] uint8 on any device, for `into`'s colour bytes, which
  // must stay valid until finish(). On the CPU nothing is copied before.
  void add(const torch::Tensor& rgb, const ImageView& into);
  // A 4:2:0 frame's new planes (any device) for its rectangle in `into`.
  void add(const YuvRegion& region, const YuvView& into);
  void finish();
  bool empty() const { return pending_.empty(); }

 private:
  struct Pending {
    ImageView view;
    torch::Tensor host;  // the image's bytes (pinned), or [3, H, W] RGB
    bool whole_bytes = false;
    std::optional<std::pair<YuvRegion, YuvView>> yuv;  // instead of the above
  };
  struct Marker;  // a CUDA event after the last queued copy
  void mark_queued(c10::DeviceIndex device);
  std::vector<Pending> pending_;
  std::unique_ptr<Marker> marker_;
};

}  // namespace gpen
