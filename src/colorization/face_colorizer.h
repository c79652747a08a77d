// GPEN colorization of aligned grayscale faces (the reference's
// face_colorization.py): the same FullGenerator as restoration, run on the
// gray face, then, when the face is not at the model's size, the network's
// colours resized back and given the input's own luma through YUV.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

namespace gpen {

class FaceEnhancer;

// FaceGAN.process of 8-bit BGR faces (gray: B = G = R), all through the
// network as one batch: each resized to the model size (cv2.resize,
// bilinear), the network, clip(x * 0.5 + 0.5, 0, 1) * 255 truncated as the
// reference does -> BGR at the model size.
std::vector<cv::Mat> colorize_network_images(FaceEnhancer& enhancer,
                                             const std::vector<cv::Mat>& gray_bgr);

// FaceColorization.post_process: `colour` resized to the gray face's size
// (bilinear), converted to YUV (cv2.COLOR_BGR2YUV), its Y replaced by the
// gray face's, back to BGR. Faces already at that size are returned as the
// network made them, as the reference does.
cv::Mat colorize_post_process(const cv::Mat& gray_bgr, const cv::Mat& colour);

// Both: the colorized faces at their own sizes.
std::vector<cv::Mat> colorize_faces(FaceEnhancer& enhancer, const std::vector<cv::Mat>& gray_bgr);

}  // namespace gpen
