// Tasks for gpen-enhance's workers, in two priorities: writing a finished
// image comes before reading a new one, so that memory is freed first.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace gpen_tools {

class WorkQueue {
 public:
  using Task = std::function<void()>;

  void push(Task task, bool urgent) {
    {
      std::lock_guard<std::mutex> lock(lock_);
      (urgent ? urgent_ : normal_).push_back(std::move(task));
    }
    ready_.notify_one();
  }

  // The next task; false once closed (pending tasks are dropped).
  bool pop(Task& task) {
    std::unique_lock<std::mutex> lock(lock_);
    ready_.wait(lock, [&] { return closed_ || !urgent_.empty() || !normal_.empty(); });
    if (closed_) return false;
    auto& from = urgent_.empty() ? normal_ : urgent_;
    task = std::move(from.front());
    from.pop_front();
    return true;
  }

  void close() {
    {
      std::lock_guard<std::mutex> lock(lock_);
      closed_ = true;
      urgent_.clear();
      normal_.clear();
    }
    ready_.notify_all();
  }

 private:
  std::mutex lock_;
  std::condition_variable ready_;
  std::deque<Task> urgent_, normal_;
  bool closed_ = false;
};

}  // namespace gpen_tools
