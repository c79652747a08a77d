#include "faces/paste_back.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "faces/face_filters.h"
#include "runtime/convolve.h"
#include "runtime/error.h"
#include "runtime/image_tensor.h"

namespace gpen {
namespace {

namespace F = torch::nn::functional;

// The reference's mask geometry at 512 px.
constexpr double kReferenceSize = 512.0;
constexpr double kBorder = 26.0;
constexpr double kBlurSize = 101.0;
constexpr double kBlurSigma = 4.0;
// Below this a mask value cannot move an 8-bit pixel by half a level.
constexpr double kMaskFloor = 1.0 / 512.0;

// cv2.GaussianBlur of a 1-D profile (reflect-101 border).
torch::Tensor blur_profile(const torch::Tensor& profile, int ksize, double sigma) {
  const int pad = ksize / 2;
  auto padded = profile.view({1, 1, -1});
  if (pad > 0) {
    F::PadFuncOptions options({pad, pad});
    if (pad < profile.size(0))
      options.mode(torch::kReflect);
    else
      options.mode(torch::kReplicate);
    padded = F::pad(padded, options);
  }
  return F::conv1d(padded, gaussian_kernel(ksize, sigma).view({1, 1, ksize})).view({-1});
}

torch::Tensor compute_mask(int size) {
  const double scale = size / kReferenceSize;
  const auto border = static_cast<std::int64_t>(std::lround(kBorder * scale));
  int ksize = std::max(1, static_cast<int>(std::lround(kBlurSize * scale)));
  if (ksize % 2 == 0) ++ksize;
  const double sigma = kBlurSigma * scale;
  // The square and its Gaussian blurs are separable: blurring the 1-D
  // profile and taking its outer product is the 2-D blur exactly, at a
  // fraction of the cost (a 203-tap 2-D blur at 1024 px takes seconds).
  auto profile = torch::zeros({size}, torch::kDouble);
  // `border` zeros on every side, so that the mask is symmetric (see the
  // header).
  profile.slice(0, border, size - border).fill_(1.0);
  profile = blur_profile(blur_profile(profile, ksize, sigma), ksize, sigma);
  auto mask = torch::outer(profile, profile);
  mask.masked_fill_(mask < kMaskFloor, 0.0);
  return mask.clamp_max(1.0).to(torch::kFloat);
}

// The mask on a device, cached: the element pastes with the same size every
// frame.
torch::Tensor mask_on(int size, const torch::Device& device) {
  static std::mutex mutex;
  static std::map<std::pair<int, std::string>, torch::Tensor> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& entry = cache[{size, device.str()}];
  if (!entry.defined()) {
    // A normal tensor even when first asked for under InferenceMode, so that
    // later callers outside it can use it freely.
    c10::InferenceMode normal(false);
    auto& cpu = cache[{size, torch::Device(torch::kCPU).str()}];
    if (!cpu.defined()) cpu = compute_mask(size);
    entry = cpu.to(device);
  }
  return entry;
}

// The reference's 3x3 binomial smoothing (cv2.filter2D, reflect-101 border).
torch::Tensor smooth_small_face(const torch::Tensor& face) {
  const auto taps = torch::tensor({0.25, 0.5, 0.25}, face.options());
  const auto kernel = torch::outer(taps, taps).view({1, 1, 3, 3}).repeat({3, 1, 1, 1});
  const auto padded = F::pad(face, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReflect));
  return convolve(padded, kernel, {}, 1, 0, /*groups=*/3);
}

// Frame pixels [x0, x1) x [y0, y1) whose bilinear samples can touch the crop:
// those mapping to crop coordinates in (-1, size).
// On the CPU the compositing below is two passes over a face's region,
// where the same torch ops make about fifteen (each a pass over memory):
// the same arithmetic in the same order, so the same bytes.

// Where `warped`'s mask (channel 3 of [4, h, w]) beats `mask`'s ([1, h, w]),
// its face (channels 0-2) goes into `face` ([3, h, w]) and its mask into `mask`.
void keep_highest_mask_on_cpu(const torch::Tensor& warped, torch::Tensor face, torch::Tensor mask) {
  const auto in = warped.contiguous();
  const auto w = in.accessor<float, 3>();
  auto f = face.accessor<float, 3>();
  auto m = mask.accessor<float, 3>();
  const std::int64_t rows = in.size(1), columns = in.size(2);
  for (std::int64_t y = 0; y < rows; ++y) {
    for (std::int64_t x = 0; x < columns; ++x) {
      const float value = w[3][y][x];
      if (!(value > m[0][y][x])) continue;
      m[0][y][x] = value;
      for (int c = 0; c < 3; ++c) f[c][y][x] = w[c][y][x];
    }
  }
}

// pixel = original + (face - original) * mask * strength, rounded (halves to
// even, as torch's round) and clamped, where the mask is not 0; `pixels`
// ([3, h, w] uint8) holds the originals and receives the result.
void blend_on_cpu(const torch::Tensor& face, const torch::Tensor& mask, float strength,
                  torch::Tensor pixels) {
  const auto f = face.accessor<float, 3>();
  const auto m = mask.accessor<float, 2>();
  auto p = pixels.accessor<std::uint8_t, 3>();
  const std::int64_t rows = mask.size(0), columns = mask.size(1);
  at::parallel_for(0, rows, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t y = begin; y < end; ++y) {
      for (std::int64_t x = 0; x < columns; ++x) {
        const float weight = m[y][x];
        if (!(weight > 0.f)) continue;
        const float scaled = weight * strength;
        for (int c = 0; c < 3; ++c) {
          const float original = p[c][y][x];
          const float blended = original + (f[c][y][x] - original) * scaled;
          p[c][y][x] = static_cast<std::uint8_t>(std::clamp(std::nearbyint(blended), 0.f, 255.f));
        }
      }
    }
  });
}

struct Region {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const { return x1 <= x0 || y1 <= y0; }
};

Region crop_region(const Affine& crop_to_frame, int size, int width, int height) {
  double min_x = INFINITY, min_y = INFINITY, max_x = -INFINITY, max_y = -INFINITY;
  for (const double cx : {-1.0, static_cast<double>(size)}) {
    for (const double cy : {-1.0, static_cast<double>(size)}) {
      const auto& m = crop_to_frame.m;
      const double x = m[0] * cx + m[1] * cy + m[2], y = m[3] * cx + m[4] * cy + m[5];
      min_x = std::min(min_x, x), max_x = std::max(max_x, x);
      min_y = std::min(min_y, y), max_y = std::max(max_y, y);
    }
  }
  auto clamp = [](double v, int hi) {
    return static_cast<int>(std::clamp(v, 0.0, static_cast<double>(hi)));
  };
  return {clamp(std::floor(min_x), width), clamp(std::floor(min_y), height),
          clamp(std::ceil(max_x) + 1, width), clamp(std::ceil(max_y) + 1, height)};
}

Region unite(const Region& a, const Region& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return {std::min(a.x0, b.x0), std::min(a.y0, b.y0), std::max(a.x1, b.x1),
          std::max(a.y1, b.y1)};
}

bool overlaps(const Region& a, const Region& b) {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

// Faces whose regions reach the frame, in groups whose boxes do not overlap
// (a group: faces linked by overlapping boxes), each group's faces in their
// order. A pixel of a group's box is reached by that group's faces only, so
// groups pasted apart give the pixels pasting all at once gives.
struct Group {
  Region box;
  std::vector<std::size_t> faces;
};

std::vector<Group> group_regions(const std::vector<Region>& regions) {
  std::vector<Group> groups;
  for (std::size_t i = 0; i < regions.size(); ++i)
    if (!regions[i].empty()) groups.push_back({regions[i], {i}});
  for (bool merged = true; merged;) {
    merged = false;
    for (std::size_t a = 0; a < groups.size() && !merged; ++a) {
      for (std::size_t b = a + 1; b < groups.size() && !merged; ++b) {
        if (!overlaps(groups[a].box, groups[b].box)) continue;
        groups[a].box = unite(groups[a].box, groups[b].box);
        groups[a].faces.insert(groups[a].faces.end(), groups[b].faces.begin(),
                               groups[b].faces.end());
        groups.erase(groups.begin() + static_cast<std::ptrdiff_t>(b));
        merged = true;
      }
    }
  }
  for (auto& group : groups) std::sort(group.faces.begin(), group.faces.end());
  return groups;
}

torch::Tensor view_of(const torch::Tensor& image, const Region& r) {
  return image.slice(-2, r.y0, r.y1).slice(-1, r.x0, r.x1);
}

void check_arguments(const torch::Tensor& frame, const torch::Tensor& crops,
                     const std::vector<Affine>& frame_to_crop, const PasteOptions& options) {
  if (frame.dim() != 3 || frame.size(0) != 3 || frame.scalar_type() != torch::kUInt8)
    throw Error("paste_faces: the frame must be a [3, H, W] uint8 tensor");
  if (crops.dim() != 4 || crops.size(1) != 3 || crops.size(2) != crops.size(3) ||
      !crops.is_floating_point())
    throw Error("paste_faces: the crops must be float [N, 3, S, S]");
  if (static_cast<std::size_t>(crops.size(0)) != frame_to_crop.size())
    throw Error("paste_faces: " + std::to_string(crops.size(0)) + " crops but " +
                std::to_string(frame_to_crop.size()) + " matrices");
  if (!options.face_sizes.empty() && options.face_sizes.size() != frame_to_crop.size())
    throw Error("paste_faces: " + std::to_string(options.face_sizes.size()) +
                " face sizes for " + std::to_string(frame_to_crop.size()) + " faces");
  if (options.masks.defined() &&
      (options.masks.dim() != 3 || options.masks.size(0) != crops.size(0) ||
       options.masks.size(1) != crops.size(2) || options.masks.size(2) != crops.size(3)))
    throw Error("paste_faces: the masks must be [N, S, S], one per crop");
  if (!(options.strength >= 0.f && options.strength <= 1.f))
    throw Error("paste_faces: strength " + std::to_string(options.strength) +
                " is outside [0, 1]");
}

}  // namespace

torch::Tensor paste_mask(int size) {
  if (size < 1) throw Error("paste_mask: size " + std::to_string(size) + " is not positive");
  return mask_on(size, torch::kCPU);
}

torch::Tensor paste_faces(const torch::Tensor& frame, const torch::Tensor& crops,
                          const std::vector<Affine>& frame_to_crop, const PasteOptions& options,
                          torch::Tensor* frame_mask, std::vector<PasteRegion>* touched) {
  check_arguments(frame, crops, frame_to_crop, options);
  const torch::Device device = frame.device();
  const int height = static_cast<int>(frame.size(1)), width = static_cast<int>(frame.size(2));
  const int size = static_cast<int>(crops.size(3));
  const auto floats = torch::TensorOptions().device(device).dtype(torch::kFloat);

  // Work only on the parts of the frame the faces can reach, group by group
  // (faces whose regions overlap): a 4K frame's full-size float buffers, or
  // one box around faces spread over the frame, would cost more than the
  // faces themselves.
  std::vector<Region> regions;
  for (const auto& m : frame_to_crop)
    regions.push_back(crop_region(invert_affine(m), size, width, height));
  auto result = frame.clone();
  if (frame_mask) *frame_mask = torch::zeros({height, width}, floats);
  if (touched) touched->clear();
  const auto mask = mask_on(size, device).view({1, 1, size, size});
  for (const Group& group : group_regions(regions)) {
    const Region& box = group.box;
    if (touched) touched->push_back({box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0});
    const int area_w = box.x1 - box.x0, area_h = box.y1 - box.y0;
    auto kept_mask = torch::zeros({1, area_h, area_w}, floats);
    auto kept_face = torch::zeros({3, area_h, area_w}, floats);
    for (const std::size_t i : group.faces) {
      const Region& r = regions[i];
      auto face = crops.slice(0, i, i + 1).to(device, torch::kFloat);
      const float side = options.face_sizes.empty()
                             ? static_cast<float>(0.5 * size / frame_to_crop[i].scale())
                             : options.face_sizes[i];
      if (side < options.small_face_size) face = smooth_small_face(face);

      const Affine shift{{1.0, 0.0, static_cast<double>(r.x0), 0.0, 1.0, static_cast<double>(r.y0)}};
      const auto face_mask_source =
          options.masks.defined()
              ? options.masks.slice(0, i, i + 1).unsqueeze(1).to(device, torch::kFloat)
              : mask;
      const auto warped = warp_affine(torch::cat({face, face_mask_source}, 1), frame_to_crop[i] * shift,
                                      r.y1 - r.y0, r.x1 - r.x0)[0];
      const Region local{r.x0 - box.x0, r.y0 - box.y0, r.x1 - box.x0, r.y1 - box.y0};
      if (device.is_cpu()) {
        keep_highest_mask_on_cpu(warped, view_of(kept_face, local), view_of(kept_mask, local));
        continue;
      }
      const auto face_mask = warped.slice(0, 3, 4);
      auto old_mask = view_of(kept_mask, local);
      auto old_face = view_of(kept_face, local);
      const auto take = face_mask > old_mask;
      old_face.copy_(torch::where(take, warped.slice(0, 0, 3), old_face));
      old_mask.copy_(torch::where(take, face_mask, old_mask));
    }
    auto pasted = view_of(result, box);
    if (device.is_cpu()) {
      blend_on_cpu(kept_face, kept_mask[0], options.strength, pasted);
    } else {
      const auto original = view_of(frame, box);
      const auto original_f = original.to(torch::kFloat);
      const auto weight = kept_mask * static_cast<double>(options.strength);
      const auto blended = original_f + (kept_face - original_f) * weight;
      pasted.copy_(torch::where(kept_mask > 0, quantize(blended), original));
    }
    if (frame_mask) view_of(*frame_mask, box).copy_(kept_mask[0]);
  }
  return result;
}

}  // namespace gpen
