#include "colorization/face_colorizer.h"

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "face_enhancer.h"
#include "runtime/error.h"

namespace gpen {

std::vector<cv::Mat> colorize_network_images(FaceEnhancer& enhancer,
                                             const std::vector<cv::Mat>& gray_bgr) {
  if (gray_bgr.empty()) return {};
  const int size = enhancer.model_size();
  std::vector<torch::Tensor> inputs;
  for (const cv::Mat& face : gray_bgr) {
    if (face.empty() || face.type() != CV_8UC3)
      throw Error("colorization: faces must be 8-bit 3-channel images");
    cv::Mat resized;
    cv::resize(face, resized, cv::Size(size, size), 0, 0, cv::INTER_LINEAR);
    // BGR -> RGB, /255, (x - 0.5) / 0.5: FaceGAN.img2tensor.
    inputs.push_back(torch::from_blob(resized.data, {size, size, 3}, torch::kByte)
                         .permute({2, 0, 1})
                         .flip({0})
                         .to(torch::kFloat)
                         .div(255.0)
                         .sub(0.5)
                         .div(0.5));
  }
  torch::Tensor out;
  {
    torch::InferenceMode inference;
    out = enhancer.forward(torch::stack(inputs).to(enhancer.device()))
              .to(torch::kCPU, torch::kFloat);
    // tensor2img: RGB -> BGR, clip(x * 0.5 + 0.5, 0, 1) * 255, astype(uint8).
    out = (out * 0.5 + 0.5).clamp(0, 1).mul(255.0).flip({1}).permute({0, 2, 3, 1});
    out = out.to(torch::kByte).contiguous();  // truncates, as numpy's astype
  }
  std::vector<cv::Mat> images;
  for (std::int64_t i = 0; i < out.size(0); ++i)
    images.push_back(cv::Mat(size, size, CV_8UC3, out[i].data_ptr()).clone());
  return images;
}

cv::Mat colorize_post_process(const cv::Mat& gray_bgr, const cv::Mat& colour) {
  if (gray_bgr.size() == colour.size()) return colour.clone();
  cv::Mat resized, gray_yuv, out_yuv, result;
  cv::resize(colour, resized, gray_bgr.size(), 0, 0, cv::INTER_LINEAR);
  cv::cvtColor(gray_bgr, gray_yuv, cv::COLOR_BGR2YUV);
  cv::cvtColor(resized, out_yuv, cv::COLOR_BGR2YUV);
  cv::Mat gray_planes[3], out_planes[3];
  cv::split(gray_yuv, gray_planes);
  cv::split(out_yuv, out_planes);
  out_planes[0] = gray_planes[0];
  cv::merge(out_planes, 3, out_yuv);
  cv::cvtColor(out_yuv, result, cv::COLOR_YUV2BGR);
  return result;
}

std::vector<cv::Mat> colorize_faces(FaceEnhancer& enhancer, const std::vector<cv::Mat>& gray_bgr) {
  auto colours = colorize_network_images(enhancer, gray_bgr);
  for (std::size_t i = 0; i < colours.size(); ++i)
    colours[i] = colorize_post_process(gray_bgr[i], colours[i]);
  return colours;
}

}  // namespace gpen
