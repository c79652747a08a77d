// Face detection ahead of the batcher, on worker threads: a frame is handed
// over as it arrives and its faces are taken when the batcher needs them, so
// the detector works on the next frames while the network and paste-back
// run the current ones, and several frames are searched at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <torch/types.h>

#include "faces/face.h"

namespace gpen {

class FaceDetector;

class DetectionPool {
 public:
  using Faces = std::vector<FaceDetection>;

  // One worker thread per detector; each detector is used by its worker
  // only (the cascade is not thread-safe). At least one.
  explicit DetectionPool(std::vector<std::unique_ptr<FaceDetector>> detectors);
  // Waits for the detections running; those queued are dropped (their
  // futures say so: std::future_error, broken promise).
  ~DetectionPool();
  DetectionPool(const DetectionPool&) = delete;
  DetectionPool& operator=(const DetectionPool&) = delete;

  // Queues `frame` ([3, H, W] uint8 RGB on the detectors' device) for
  // detection; the future holds its faces (or the detector's exception).
  // Frames are taken in the order they are submitted.
  std::shared_future<Faces> submit(torch::Tensor frame);

  std::size_t workers() const { return threads_.size(); }
  // Where the detectors want their frames.
  torch::Device device() const;
  // "Haar cascade (CPU) on 2 threads".
  std::string describe() const;
  // The workers' time spent detecting, summed, in seconds.
  double busy_seconds() const { return busy_ns_.load() * 1e-9; }

 private:
  struct Job {
    torch::Tensor frame;
    std::promise<Faces> faces;
  };
  void work(FaceDetector& detector);

  std::vector<std::unique_ptr<FaceDetector>> detectors_;
  std::mutex lock_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::atomic<long long> busy_ns_{0};
  std::vector<std::thread> threads_;
};

}  // namespace gpen
