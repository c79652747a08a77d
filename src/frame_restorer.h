// Restoring every face of a stream of full frames: detection batched over
// frames, alignment to GPEN's template, the network over micro-batches of
// face crops gathered across frames (a frame with five faces and frames with
// none fill batches alike), and paste-back; frames leave in the order they
// came.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include <torch/types.h>

#include "face.h"
#include "face_align.h"

namespace gpen {

class FaceDetector;
class FaceEnhancer;

struct RestoreOptions {
  float strength = 1.f;  // 0 keeps the original faces, 1 pastes the network's
  float denoise = 0.f;   // denoise amount of the crops before the network
  float sharpen = 0.f;   // unsharp-mask amount of the faces after it
  int max_faces = 0;     // faces restored per frame, largest first (0: all)
};

struct RestoredFrame {
  std::uint64_t id = 0;
  std::vector<FaceDetection> faces;  // the faces restored, in frame pixels
  // [3, H, W] uint8 RGB on the model's device; undefined when the frame had
  // no face to restore (it is unchanged).
  torch::Tensor rgb;
};

class FrameRestorer {
 public:
  // `detector` may be null when every frame comes with its faces. Both must
  // outlive the restorer. batch_size >= 1 faces per network run.
  FrameRestorer(FaceEnhancer& enhancer, FaceDetector* detector, int batch_size);

  // Queues a frame, [3, H, W] uint8 RGB on any device. `faces` are the faces
  // an upstream detector found, in frame pixels (an empty vector: a frame
  // known to have none); nullopt has them detected here.
  void push(std::uint64_t id, const torch::Tensor& rgb,
            std::optional<std::vector<FaceDetection>> faces = std::nullopt);

  // Does the work that is due: frames waiting for detection are detected
  // together once their faces could fill a batch, every full batch of faces
  // goes through the network, and finished frames are pasted. Once
  // batch_size frames are held, they are all finished (the last batch
  // partial), so a frame never waits behind more than batch_size - 1 others.
  // With `drain`, everything queued is finished. Returns the number
  // of faces that went through the network. Throws on detection or network
  // errors (the frames stay queued; clear() drops them).
  std::size_t run(const RestoreOptions& options, bool drain);

  // The next finished frame, in push order.
  std::optional<RestoredFrame> pop();

  // Frames pushed and not yet popped.
  std::size_t size() const { return frames_.size() + finished_.size(); }
  int batch_size() const { return batch_size_; }
  // Network runs so far (for logs and tests).
  std::size_t batches_run() const { return batches_run_; }
  void clear();

 private:
  struct Frame {
    std::uint64_t id = 0;
    torch::Tensor source;     // as pushed
    torch::Tensor on_device;  // on the model's device
    std::optional<std::vector<FaceDetection>> found;  // before selection
    bool located = false;     // faces chosen and their crops queued
    std::vector<FaceDetection> faces;
    std::vector<Affine> to_crop;
    std::vector<torch::Tensor> restored;  // per face, [3, S, S] float
    std::size_t remaining = 0;            // faces still waiting for the network
  };
  struct Crop {
    std::uint64_t frame_id = 0;
    std::size_t face = 0;
    torch::Tensor pixels;  // [3, S, S] float in [0, 255]
  };

  Frame* find(std::uint64_t id);
  void detect(const RestoreOptions& options, bool drain);
  void locate(Frame& frame, std::vector<FaceDetection> faces, const RestoreOptions& options);
  std::size_t enhance(const RestoreOptions& options, bool drain);
  void finish(const RestoreOptions& options);

  FaceEnhancer& enhancer_;
  FaceDetector* detector_;
  int batch_size_;
  std::size_t batches_run_ = 0;
  std::deque<Frame> frames_;  // in push order, not yet finished
  std::deque<Crop> crops_;    // waiting for the network
  std::deque<RestoredFrame> finished_;
};

}  // namespace gpen
