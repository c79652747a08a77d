// Bookkeeping of the frames a stress run pushes and receives, to prove that
// none is lost, duplicated or reordered except where a flush allows it.
//
// Frames carry a unique, increasing id (GST_BUFFER_OFFSET). Frames are
// pushed in epochs; a flushing seek or a trip through READY ends an epoch, and
// only then may frames still pending be missing (they were flushed). Since
// frames leave in order, a frame that arrives while an earlier frame of the
// same epoch is still pending proves that earlier frame lost.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace stress {

class FrameLedger {
 public:
  struct Counts {
    std::uint64_t pushed = 0;
    std::uint64_t received = 0;
    std::uint64_t flushed = 0;  // pending when their epoch ended
    std::uint64_t epochs = 1;
  };

  // The application pushed frame `id` (ids must increase).
  void pushed(std::uint64_t id);
  // A frame came out of the pipeline (any thread).
  void received(std::uint64_t id);
  // A flush or READY trip completed: what is still pending was flushed, and
  // may never arrive now.
  void end_epoch();
  // Waits until every frame pushed so far arrived, or `timeout` passes.
  bool wait_all_received(std::chrono::milliseconds timeout);

  std::uint64_t pending() const;
  Counts counts() const;
  // Records a broken promise found elsewhere (e.g. a damaged frame).
  void fail(std::string what);
  // The first broken promises (empty: all good), and how many there were.
  std::vector<std::string> errors() const;
  std::uint64_t error_count() const;

 private:
  void error(std::string what);  // called with lock_ held

  mutable std::mutex lock_;
  std::condition_variable changed_;
  std::map<std::uint64_t, std::uint64_t> pending_;  // id -> epoch
  std::uint64_t last_pushed_ = 0;
  bool any_pushed_ = false;
  Counts counts_;
  std::vector<std::string> errors_;
  std::uint64_t error_count_ = 0;
};

}  // namespace stress
