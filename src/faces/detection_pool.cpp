#include "faces/detection_pool.h"

#include <chrono>
#include <utility>

#include <torch/torch.h>

#include "faces/face_detector.h"
#include "runtime/error.h"

namespace gpen {

DetectionPool::DetectionPool(std::vector<std::unique_ptr<FaceDetector>> detectors)
    : detectors_(std::move(detectors)) {
  if (detectors_.empty()) throw Error("a detection pool needs at least one detector");
  for (auto& detector : detectors_)
    threads_.emplace_back([this, d = detector.get()] { work(*d); });
}

DetectionPool::~DetectionPool() {
  {
    const std::lock_guard<std::mutex> lock(lock_);
    stopping_ = true;
    jobs_.clear();
  }
  wake_.notify_all();
  for (auto& thread : threads_) thread.join();
}

std::shared_future<DetectionPool::Faces> DetectionPool::submit(torch::Tensor frame) {
  Job job{std::move(frame), {}};
  std::shared_future<Faces> faces = job.faces.get_future().share();
  {
    const std::lock_guard<std::mutex> lock(lock_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return faces;
}

void DetectionPool::work(FaceDetector& detector) {
  torch::InferenceMode inference;
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(lock_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    const auto start = std::chrono::steady_clock::now();
    try {
      auto found = detector.detect(job.frame.unsqueeze(0));
      job.faces.set_value(found.empty() ? Faces{} : std::move(found[0]));
    } catch (...) {
      job.faces.set_exception(std::current_exception());
    }
    busy_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  }
}

torch::Device DetectionPool::device() const { return detectors_.front()->device(); }

std::string DetectionPool::describe() const {
  return detectors_.front()->describe() + " on " + std::to_string(threads_.size()) +
         (threads_.size() == 1 ? " thread" : " threads");
}

}  // namespace gpen
