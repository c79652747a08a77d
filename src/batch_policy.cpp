#include "batch_policy.h"

#include <algorithm>
#include <cstdio>

namespace gpen {

int choose_batch_size(bool is_cuda, const BatchMemoryEstimate& memory, int throughput_cap,
                      double headroom) {
  if (!is_cuda) return 1;
  if (memory.per_face_bytes == 0) return 1;
  const double usable = static_cast<double>(memory.free_bytes) * std::clamp(headroom, 0.0, 1.0);
  const double fits = usable / static_cast<double>(memory.per_face_bytes);
  int batch = fits >= kMaxBatchSize ? kMaxBatchSize : static_cast<int>(fits);
  if (throughput_cap > 0) batch = std::min(batch, throughput_cap);
  return std::max(batch, 1);
}

std::vector<int> batch_ladder(int limit) {
  limit = std::clamp(limit, 1, kMaxBatchSize);
  std::vector<int> ladder;
  for (int batch = 1; batch < limit; batch *= 2) ladder.push_back(batch);
  ladder.push_back(limit);
  return ladder;
}

int throughput_knee(const std::vector<ThroughputSample>& samples, double tolerance) {
  double best = 0;
  for (const auto& s : samples) best = std::max(best, s.faces_per_second);
  int knee = 0;
  for (const auto& s : samples)
    if (s.faces_per_second >= (1.0 - tolerance) * best && (knee == 0 || s.batch < knee))
      knee = s.batch;
  return knee > 0 ? knee : 1;
}

bool past_the_knee(const std::vector<ThroughputSample>& samples, double tolerance) {
  if (samples.size() < 2) return false;
  double best = 0;
  for (const auto& s : samples) best = std::max(best, s.faces_per_second);
  return samples.back().faces_per_second < (1.0 - tolerance) * best;
}

std::uint64_t batch_fill_latency_ns(int batch_size, int pipeline_depth, int lookahead, int fps_n,
                                    int fps_d, bool live, std::uint64_t timeout_ns) {
  const long long held =
      static_cast<long long>(std::max(batch_size, 0)) * std::max(pipeline_depth, 1) +
      (batch_size > 0 ? std::max(lookahead, 0) : 0);
  const long long waited = held > 0 ? held - 1 : 0;
  std::uint64_t fill = 0;
  if (fps_n > 0 && fps_d > 0 && waited > 0)
    fill = static_cast<std::uint64_t>(static_cast<unsigned __int128>(1000000000ull) *
                                      static_cast<unsigned long long>(waited) *
                                      static_cast<unsigned>(fps_d) / static_cast<unsigned>(fps_n));
  if (live && timeout_ns > 0 && (fill == 0 || timeout_ns < fill)) fill = timeout_ns;
  return fill;
}

bool InferenceLatency::record(std::uint64_t ns) {
  const std::lock_guard<std::mutex> lock(lock_);
  longest_ = std::max(longest_, ns);
  if (longest_ <= reported_ + reported_ / 5 + 1000000) return false;
  reported_ = longest_;
  return true;
}

std::uint64_t InferenceLatency::reported() const {
  const std::lock_guard<std::mutex> lock(lock_);
  return reported_;
}

void InferenceLatency::reset() {
  const std::lock_guard<std::mutex> lock(lock_);
  longest_ = reported_ = 0;
}

std::string BatchChoice::describe() const {
  std::string text = "batch " + std::to_string(batch) + " (memory fits " + std::to_string(fits);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, ": %.0f MiB free, %.0f MiB per face",
                memory.free_bytes / 1048576.0, memory.per_face_bytes / 1048576.0);
  text += buffer;
  text += samples.empty() ? ")" : "; faces/s by batch:";
  for (const auto& s : samples) {
    std::snprintf(buffer, sizeof buffer, " %d:%.1f", s.batch, s.faces_per_second);
    text += buffer;
  }
  if (!samples.empty()) text += ")";
  if (remembered) text += ", remembered";
  return text;
}

}  // namespace gpen
