#include "parsing/face_parser.h"

#include <array>

#include <torch/torch.h>

#include "faces/face_filters.h"
#include "runtime/error.h"

namespace gpen {
namespace {

namespace F = torch::nn::functional;

// FaceParse.MASK_COLORMAP: 0 background, 14 hat and 18 cloth are left out.
constexpr std::array<std::uint8_t, 19> kColourMap = {0,   255, 255, 255, 255, 255, 255,
                                                     255, 255, 255, 255, 255, 255, 255,
                                                     0,   255, 255, 255, 0};
// mask_postprocess(mask, thres=26) and its blurs, in the parser's pixels.
constexpr std::int64_t kBorder = 26;
constexpr int kBlurSize = 101;
constexpr double kBlurSigma = 4.0;

// cv2.resize(..., INTER_LINEAR): half-pixel centres, no antialiasing.
torch::Tensor resize_bilinear(const torch::Tensor& images, std::int64_t size) {
  if (images.size(-1) == size && images.size(-2) == size) return images;
  return F::interpolate(images, F::InterpolateFuncOptions()
                                    .size(std::vector<std::int64_t>{size, size})
                                    .mode(torch::kBilinear)
                                    .align_corners(false));
}

}  // namespace

torch::Tensor parse_classes_to_mask(const torch::Tensor& logits) {
  if (logits.dim() != 4 || logits.size(1) != static_cast<std::int64_t>(kColourMap.size()))
    throw Error("face parsing: expected logits [N, 19, H, W] (the reference's colour map has 19 "
                "classes), got " + std::to_string(logits.dim() == 4 ? logits.size(1) : -1) +
                " classes");
  const auto table = torch::from_blob(const_cast<std::uint8_t*>(kColourMap.data()),
                                      {static_cast<std::int64_t>(kColourMap.size())}, torch::kByte)
                         .to(logits.device());
  return table.index({logits.argmax(1)});
}

torch::Tensor postprocess_parse_mask(const torch::Tensor& mask) {
  TORCH_CHECK(mask.dim() == 3 && mask.is_floating_point(),
              "postprocess_parse_mask expects float [N, H, W], got ", mask.sizes());
  auto m = mask.to(torch::kFloat).clone();
  const auto h = m.size(1), w = m.size(2);
  m.slice(1, 0, std::min(kBorder, h)).zero_();
  m.slice(1, std::max<std::int64_t>(h - kBorder, 0), h).zero_();
  m.slice(2, 0, std::min(kBorder, w)).zero_();
  m.slice(2, std::max<std::int64_t>(w - kBorder, 0), w).zero_();
  auto planes = m.unsqueeze(1);
  planes = gaussian_blur(gaussian_blur(planes, kBlurSize, kBlurSigma), kBlurSize, kBlurSigma);
  return planes.squeeze(1);
}

FaceParser::FaceParser(const std::string& model_path, torch::Device device)
    : net_(ParseNet::load(model_path, device)) {
  if (net_.config().parsing_channels != static_cast<std::int64_t>(kColourMap.size()))
    throw ModelError("face-parsing model '" + model_path + "': " +
                     std::to_string(net_.config().parsing_channels) +
                     " parsing classes, the reference's colour map has 19");
}

FaceParser::FaceParser(const TensorMap& state, torch::Device device) : net_(state, device) {
  if (net_.config().parsing_channels != static_cast<std::int64_t>(kColourMap.size()))
    throw ModelError("ParseNet state_dict: " + std::to_string(net_.config().parsing_channels) +
                     " parsing classes, the reference's colour map has 19");
}

torch::Tensor FaceParser::network_input(const torch::Tensor& faces) const {
  TORCH_CHECK(faces.dim() == 4 && faces.size(1) == 3 && faces.is_floating_point(),
              "FaceParser expects float [N, 3, S, S] faces, got ", faces.sizes());
  auto x = faces.to(device(), torch::kFloat).clamp(0, 255).round();
  if (x.size(2) != parse_size() || x.size(3) != parse_size())
    x = resize_bilinear(x, parse_size()).round();
  return x / 255.0 * 2.0 - 1.0;
}

torch::Tensor FaceParser::paste_masks(const torch::Tensor& faces) const {
  const auto logits = net_.forward(network_input(faces)).logits;
  const auto mask = parse_classes_to_mask(logits).to(torch::kFloat) / 255.0;
  const auto blurred = postprocess_parse_mask(mask);
  return resize_bilinear(blurred.unsqueeze(1), faces.size(3)).squeeze(1).contiguous();
}

}  // namespace gpen
