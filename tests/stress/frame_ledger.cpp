#include "frame_ledger.h"

#include <utility>

namespace stress {

void FrameLedger::pushed(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(lock_);
  if (any_pushed_ && id <= last_pushed_) error("frame " + std::to_string(id) + " pushed out of order");
  any_pushed_ = true;
  last_pushed_ = id;
  pending_.emplace(id, counts_.epochs);
  ++counts_.pushed;
}

void FrameLedger::received(std::uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(lock_);
    const auto it = pending_.find(id);
    if (it == pending_.end()) {
      error("frame " + std::to_string(id) +
            " arrived but is not pending (a duplicate, a frame flushed earlier, or never pushed)");
      return;
    }
    // Frames leave in order: whatever is pending before this one is lost.
    for (auto earlier = pending_.begin(); earlier != it; earlier = pending_.erase(earlier)) {
      error("frame " + std::to_string(earlier->first) + " lost: frame " + std::to_string(id) +
            " arrived first");
    }
    pending_.erase(it);
    ++counts_.received;
  }
  changed_.notify_all();
}

void FrameLedger::end_epoch() {
  std::lock_guard<std::mutex> lock(lock_);
  counts_.flushed += pending_.size();
  pending_.clear();
  ++counts_.epochs;
}

bool FrameLedger::wait_all_received(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(lock_);
  return changed_.wait_for(lock, timeout, [&] { return pending_.empty(); });
}

std::uint64_t FrameLedger::pending() const {
  std::lock_guard<std::mutex> lock(lock_);
  return pending_.size();
}

FrameLedger::Counts FrameLedger::counts() const {
  std::lock_guard<std::mutex> lock(lock_);
  return counts_;
}

std::vector<std::string> FrameLedger::errors() const {
  std::lock_guard<std::mutex> lock(lock_);
  return errors_;
}

std::uint64_t FrameLedger::error_count() const {
  std::lock_guard<std::mutex> lock(lock_);
  return error_count_;
}

void FrameLedger::fail(std::string what) {
  std::lock_guard<std::mutex> lock(lock_);
  error(std::move(what));
}

void FrameLedger::error(std::string what) {
  constexpr std::size_t kKept = 50;  // the first ones tell the story
  ++error_count_;
  if (errors_.size() < kKept) errors_.push_back(std::move(what));
}

}  // namespace stress
