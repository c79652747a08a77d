// The RetinaFace face detector that GPEN uses (Pytorch_Retinaface by biubug6,
// models/retinaface.py and models/net.py) in LibTorch: a ResNet50 or
// mobilenet0.25 backbone, an FPN over its last three stages, an SSH context
// module per level and 1x1 class / box / landmark heads with two anchors per
// position.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "checkpoint/checkpoint.h"
#include "faces/face.h"
#include "faces/retinaface_postprocess.h"

namespace gpen {

enum class RetinaFaceBackbone {
  MobileNet025,  // cfg_mnet: in_channel 32, out_channel 64 (mobilenet0.25_Final.pth)
  ResNet50,      // cfg_re50: in_channel 256, out_channel 256 (RetinaFace-R50.pth)
};

const char* to_string(RetinaFaceBackbone backbone);

// Every key of the state_dict and its shape, `num_batches_tracked` excluded
// (those are accepted and ignored when present).
using ShapeMap = std::map<std::string, std::vector<std::int64_t>>;
ShapeMap expected_retinaface_shapes(RetinaFaceBackbone backbone);

// The backbone whose keys the state_dict has (body.conv1.weight: ResNet50,
// body.stage1.0.0.weight: mobilenet0.25). Throws ModelError for neither.
RetinaFaceBackbone infer_retinaface_backbone(const TensorMap& state);

// Strict check: throws ModelError naming the first missing, unexpected or
// mis-shaped key with the shapes involved.
void check_retinaface_state_dict(const TensorMap& state, RetinaFaceBackbone backbone);

// Raw outputs of the network (phase 'test'), float32 on the model's device.
struct RetinaFaceHeads {
  torch::Tensor loc;     // [B, N, 4]
  torch::Tensor conf;    // [B, N, 2], softmaxed: column 1 is the face score
  torch::Tensor landms;  // [B, N, 10]
};

// cv2.resize(img, (0, 0), fx=scale, fy=scale) with INTER_LINEAR on [B, C, H, W]
// float images: output size rounded to nearest, source coordinates mapped with
// the given scale (not the rounded sizes' ratio), half-pixel centres.
torch::Tensor resize_like_cv2(const torch::Tensor& images, double scale);

class RetinaFace {
 public:
  // Checks the state_dict strictly against the backbone inferred from its
  // keys, folds every BatchNorm (eval mode) into its convolution and fuses the
  // three heads of each level into one convolution, on `device`.
  RetinaFace(const TensorMap& state, torch::Device device);

  // Reads a checkpoint file; errors name the file.
  static RetinaFace load(const std::string& path, torch::Device device);

  // input: [B, 3, H, W] float, BGR minus (104, 117, 123), not scaled, any
  // device. N = retinaface_prior_count(H, W).
  RetinaFaceHeads forward(const torch::Tensor& input) const;

  // Faces of each frame of rgb8_batch ([B, 3, H, W] uint8 RGB, any device), in
  // frame pixels, by descending score, as GPEN's RetinaFaceDetection.detect():
  // frames whose long side exceeds resize_limit are detected on a copy resized
  // (bilinear) so that the long side is resize_target, and the coordinates are
  // scaled back. A face is kept when its score is above `threshold`.
  std::vector<std::vector<FaceDetection>> detect(const torch::Tensor& rgb8_batch,
                                                 float threshold = 0.9f,
                                                 int resize_limit = 1500,
                                                 int resize_target = 1000) const;

  RetinaFaceBackbone backbone() const { return backbone_; }
  torch::Device device() const { return device_; }

 private:
  // A convolution with its BatchNorm folded in, and the activation after it.
  struct Conv {
    torch::Tensor weight, bias;
    std::int64_t stride = 1, padding = 0, groups = 1;
    bool activate = false;
    double negative_slope = 0.0;  // 0: ReLU
  };
  struct Bottleneck {  // torchvision's ResNet v1.5 block
    Conv conv1, conv2, conv3;
    bool has_downsample = false;
    Conv downsample;
  };
  struct Ssh {
    Conv conv3x3, conv5x5_1, conv5x5_2, conv7x7_2, conv7x7_3;
  };

  std::vector<torch::Tensor> backbone_features(const torch::Tensor& x) const;
  torch::Tensor ssh(const Ssh& module, const torch::Tensor& x) const;

  RetinaFaceBackbone backbone_;
  torch::Device device_;

  // mobilenet0.25: stages 1-3, each a list of convolutions.
  std::vector<std::vector<Conv>> mobilenet_stages_;
  // ResNet50: the stem, then layer1-layer4.
  Conv stem_;
  std::vector<std::vector<Bottleneck>> resnet_layers_;

  std::vector<Conv> fpn_outputs_;  // output1-3
  Conv fpn_merge1_, fpn_merge2_;
  std::vector<Ssh> ssh_;
  std::vector<Conv> heads_;  // per level: bbox (8), class (4), landmark (20) channels
};

}  // namespace gpen
