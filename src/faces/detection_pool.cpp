#include "faces/detection_pool.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <torch/torch.h>

#include "faces/face_detector.h"
#include "runtime/cpu_tensor_cache.h"
#include "runtime/error.h"

namespace gpen {

DetectionPool::DetectionPool(std::vector<std::unique_ptr<FaceDetector>> detectors)
    : detectors_(std::move(detectors)) {
  if (detectors_.empty()) throw Error("a detection pool needs at least one detector");
  // LibTorch publishes its CPU allocator through a plain pointer: ours goes
  // in before the workers start, not under them.
  install_cpu_tensor_cache();
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
  finished_.notify_all();
  for (auto& thread : threads_) thread.join();
}

DetectionPool::Ticket DetectionPool::submit(torch::Tensor frame) {
  Ticket ticket = 0;
  {
    const std::lock_guard<std::mutex> lock(lock_);
    ticket = next_++;
    jobs_.push_back({ticket, std::move(frame)});
  }
  wake_.notify_one();
  return ticket;
}

bool DetectionPool::ready(Ticket ticket) const {
  const std::lock_guard<std::mutex> lock(lock_);
  return outcomes_.count(ticket) > 0;
}

DetectionPool::Faces DetectionPool::take(Ticket ticket) {
  std::unique_lock<std::mutex> lock(lock_);
  finished_.wait(lock, [&] { return stopping_ || outcomes_.count(ticket) > 0; });
  const auto found = outcomes_.find(ticket);
  if (found == outcomes_.end()) throw Error("the detection pool stopped");
  Outcome outcome = std::move(found->second);
  outcomes_.erase(found);
  lock.unlock();
  if (outcome.error) std::rethrow_exception(outcome.error);
  return std::move(outcome.faces);
}

void DetectionPool::forget(Ticket ticket) {
  const std::lock_guard<std::mutex> lock(lock_);
  if (outcomes_.erase(ticket) > 0) return;
  const auto queued = std::find_if(jobs_.begin(), jobs_.end(),
                                   [&](const Job& job) { return job.ticket == ticket; });
  if (queued != jobs_.end())
    jobs_.erase(queued);
  else
    forgotten_.insert(ticket);  // running now
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
    Outcome outcome;
    try {
      auto found = detector.detect(job.frame.unsqueeze(0));
      if (!found.empty()) outcome.faces = std::move(found[0]);
    } catch (...) {
      outcome.error = std::current_exception();
    }
    job.frame = torch::Tensor();
    const auto spent = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    {
      const std::lock_guard<std::mutex> lock(lock_);
      busy_ns_ += spent;
      if (forgotten_.erase(job.ticket) == 0) outcomes_[job.ticket] = std::move(outcome);
    }
    finished_.notify_all();
  }
}

torch::Device DetectionPool::device() const { return detectors_.front()->device(); }

std::string DetectionPool::describe() const {
  return detectors_.front()->describe() + " on " + std::to_string(threads_.size()) +
         (threads_.size() == 1 ? " thread" : " threads");
}

double DetectionPool::busy_seconds() const {
  const std::lock_guard<std::mutex> lock(lock_);
  return busy_ns_ * 1e-9;
}

}  // namespace gpen
