// Face detection ahead of the batcher, on worker threads: a frame is handed
// over as it arrives and its faces are taken when the batcher needs them, so
// the detector works on the next frames while the network and paste-back
// run the current ones, and several frames are searched at once.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <set>
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
  // A submitted frame. Its faces stay in the pool, under its one mutex, until
  // taken or forgotten: nothing is shared between threads but the pool
  // itself (std::future's shared state made ThreadSanitizer report
  // libstdc++'s reference counts).
  using Ticket = std::uint64_t;

  // One worker thread per detector; each detector is used by its worker
  // only (the cascade is not thread-safe). At least one.
  explicit DetectionPool(std::vector<std::unique_ptr<FaceDetector>> detectors);
  // Waits for the detections running; those queued are dropped.
  ~DetectionPool();
  DetectionPool(const DetectionPool&) = delete;
  DetectionPool& operator=(const DetectionPool&) = delete;

  // Queues `frame` ([3, H, W] uint8 RGB on the detectors' device) for
  // detection. Frames are taken in the order they are submitted.
  Ticket submit(torch::Tensor frame);
  // Whether its faces are there.
  bool ready(Ticket ticket) const;
  // Waits for its faces and hands them over (once); rethrows the detector's
  // error.
  Faces take(Ticket ticket);
  // Its faces are not wanted (the frame was dropped): a frame not yet
  // started is not searched.
  void forget(Ticket ticket);

  std::size_t workers() const { return threads_.size(); }
  // Where the detectors want their frames.
  torch::Device device() const;
  // "Haar cascade (CPU) on 2 threads".
  std::string describe() const;
  // The workers' time spent detecting, summed, in seconds.
  double busy_seconds() const;

 private:
  struct Job {
    Ticket ticket = 0;
    torch::Tensor frame;
  };
  struct Outcome {
    Faces faces;
    std::exception_ptr error;
  };
  void work(FaceDetector& detector);

  std::vector<std::unique_ptr<FaceDetector>> detectors_;
  mutable std::mutex lock_;
  std::condition_variable wake_;      // workers: a job, or stop
  std::condition_variable finished_;  // takers: an outcome
  std::deque<Job> jobs_;
  std::map<Ticket, Outcome> outcomes_;
  std::set<Ticket> forgotten_;  // running when forgotten: dropped when done
  Ticket next_ = 0;
  bool stopping_ = false;
  long long busy_ns_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace gpen
