// How many faces go through the network at once when the user leaves
// batch-size at 0 (automatic): pure functions, measured inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace gpen {

constexpr int kMaxBatchSize = 64;

struct BatchMemoryEstimate {
  std::size_t free_bytes = 0;      // free device memory before the first batch
  std::size_t per_face_bytes = 0;  // peak working memory one more face costs
};

// On the CPU a batch of one is as fast per face as any larger batch and has
// the least latency. On CUDA the batch is what fits in `headroom` of the free
// memory, capped at `throughput_cap` (the knee where throughput stops growing;
// 0 means no measured cap) and at kMaxBatchSize.
int choose_batch_size(bool is_cuda, const BatchMemoryEstimate& memory, int throughput_cap = 0,
                      double headroom = 0.8);

// The batch sizes to measure: 1, 2, 4, ... up to `limit`, and `limit` itself.
std::vector<int> batch_ladder(int limit);

struct ThroughputSample {
  int batch = 0;
  double faces_per_second = 0;
};

// The knee of a measured throughput curve: the smallest batch whose faces/s
// is within `tolerance` (a fraction) of the best. Larger batches only add
// latency and memory there, and past it they are often slower. 1 if empty.
int throughput_knee(const std::vector<ThroughputSample>& samples, double tolerance = 0.05);

// Whether to stop climbing the ladder: the last sample fell more than
// `tolerance` below the best so far, so larger batches will not win.
bool past_the_knee(const std::vector<ThroughputSample>& samples, double tolerance = 0.05);

// How long a frame may wait for its batch, in ns: for the rest of its batch,
// with a batch in flight (pipeline_depth 2) for the whole next one, and for
// `lookahead` frames more that detection works ahead on, at the stream's
// frame rate (none known: 0); on a live stream no longer than a batch
// timeout that is set (timeout_ns > 0).
std::uint64_t batch_fill_latency_ns(int batch_size, int pipeline_depth, int lookahead, int fps_n,
                                    int fps_d, bool live, std::uint64_t timeout_ns);

// The inference time a LATENCY query adds: the longest batch measured,
// reported anew only when it grew by a fifth and a millisecond since, as a
// pipeline-wide latency recalculation is not worth less. Thread-safe.
class InferenceLatency {
 public:
  // Records a batch's time; true when the reported time changed.
  bool record(std::uint64_t ns);
  std::uint64_t reported() const;
  void reset();

 private:
  mutable std::mutex lock_;
  std::uint64_t longest_ = 0, reported_ = 0;
};

// What the automatic batch size was chosen from, for logs.
struct BatchChoice {
  int batch = 1;
  int fits = 1;  // the most faces the free memory allows
  BatchMemoryEstimate memory;
  std::vector<ThroughputSample> samples;
  bool remembered = false;  // read from the cache file, not measured now
  std::string describe() const;
};

}  // namespace gpen
