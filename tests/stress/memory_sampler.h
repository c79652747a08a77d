// Memory of a long run: resident set size and, with CUDA, device memory in
// use, sampled against frames processed, and a verdict on whether it stays
// flat once warmed up.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace stress {

// The process's resident set size, in bytes (/proc/self/statm).
std::uint64_t resident_bytes();
// Bytes the C heap has handed out and not had back (glibc's mallinfo2:
// arenas and mmapped chunks), when known. RSS that grows while this stays
// flat is the allocator keeping freed memory, not a leak.
std::optional<std::uint64_t> heap_bytes_in_use();
// Bytes in use on CUDA device 0 (all processes), when built with CUDA and a
// device is there.
std::optional<std::uint64_t> device_bytes_in_use();

class MemorySampler {
 public:
  struct Sample {
    std::uint64_t frames = 0;
    std::uint64_t rss = 0;
    std::optional<std::uint64_t> heap;
    std::optional<std::uint64_t> device;
  };

  void sample(std::uint64_t frames_done);
  const std::vector<Sample>& samples() const { return samples_; }
  // From now on, appends each sample to `path` as CSV (frames, seconds,
  // rss_bytes, heap_bytes, device_bytes; empty where unknown), flushed at
  // once so that a run cut short keeps its samples. False when the file
  // cannot be written.
  bool log_to(const std::string& path);

  // Compares the first and last quarters of the samples after the first
  // `warmup_fraction` of them: flat when the mean grew by less than
  // max(`tolerance_bytes`, 3%), and the heap in use (when known) by less
  // than max(`tolerance_bytes` / 4, 3%). `report` gets the figures.
  bool flat(double warmup_fraction, std::uint64_t tolerance_bytes, std::string* report) const;

 private:
  std::vector<Sample> samples_;
  std::ofstream log_;
  std::chrono::steady_clock::time_point log_start_;
};

}  // namespace stress
