#include "memory_sampler.h"

#include <unistd.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define GPEN_STRESS_HAVE_MALLINFO2 1
#endif

#include <algorithm>
#include <cstdio>
#include <fstream>

#ifdef GPEN_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace stress {

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::optional<std::uint64_t> heap_bytes_in_use() {
#ifdef GPEN_STRESS_HAVE_MALLINFO2
  const struct mallinfo2 info = mallinfo2();
  return static_cast<std::uint64_t>(info.uordblks) + static_cast<std::uint64_t>(info.hblkhd);
#else
  return std::nullopt;
#endif
}

std::optional<std::uint64_t> device_bytes_in_use() {
#ifdef GPEN_WITH_CUDA
  std::size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) return total_bytes - free_bytes;
#endif
  return std::nullopt;
}

void MemorySampler::sample(std::uint64_t frames_done) {
  samples_.push_back({frames_done, resident_bytes(), heap_bytes_in_use(), device_bytes_in_use()});
  if (log_.is_open()) {
    const Sample& s = samples_.back();
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - log_start_).count());
    log_ << s.frames << ',' << seconds << ',' << s.rss << ',';
    if (s.heap) log_ << *s.heap;
    log_ << ',';
    if (s.device) log_ << *s.device;
    log_ << std::endl;
  }
}

bool MemorySampler::log_to(const std::string& path) {
  log_.open(path);
  log_start_ = std::chrono::steady_clock::now();
  log_ << "frames,seconds,rss_bytes,heap_bytes,device_bytes" << std::endl;
  return static_cast<bool>(log_);
}

namespace {

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

// Mean of `get` over samples [begin, end).
template <class Get>
double mean(const std::vector<MemorySampler::Sample>& s, std::size_t begin, std::size_t end, Get get) {
  double sum = 0;
  for (std::size_t i = begin; i < end; ++i) sum += static_cast<double>(get(s[i]));
  return end > begin ? sum / static_cast<double>(end - begin) : 0.0;
}

}  // namespace

bool MemorySampler::flat(double warmup_fraction, std::uint64_t tolerance_bytes, std::string* report) const {
  const std::size_t start = static_cast<std::size_t>(static_cast<double>(samples_.size()) * warmup_fraction);
  if (samples_.size() < start + 8) {
    *report = "too few memory samples (" + std::to_string(samples_.size()) + ")";
    return false;
  }
  const std::size_t n = samples_.size() - start, quarter = std::max<std::size_t>(n / 4, 1);
  const auto rss = [](const Sample& s) { return s.rss; };
  const double first = mean(samples_, start, start + quarter, rss);
  const double last = mean(samples_, samples_.size() - quarter, samples_.size(), rss);
  const double growth = last - first;
  const double allowed = std::max(static_cast<double>(tolerance_bytes), 0.03 * first);
  // Least-squares slope over the samples after warm-up, per 1000 frames.
  double fm = 0, rm = 0;
  for (std::size_t i = start; i < samples_.size(); ++i) fm += samples_[i].frames, rm += samples_[i].rss;
  fm /= n, rm /= n;
  double cov = 0, var = 0;
  for (std::size_t i = start; i < samples_.size(); ++i) {
    cov += (samples_[i].frames - fm) * (samples_[i].rss - rm);
    var += (samples_[i].frames - fm) * (samples_[i].frames - fm);
  }
  const double slope = var > 0 ? cov / var * 1000.0 : 0.0;
  char line[512];
  std::snprintf(line, sizeof line,
                "RSS: %.1f MiB at start, %.1f MiB after warm-up (frame %llu), %.1f MiB at the end (frame %llu); "
                "mean of first/last quarter after warm-up %.1f -> %.1f MiB (%+.2f MiB, allowed %.1f), slope %+.1f KiB per 1000 frames",
                mib(samples_.front().rss), mib(samples_[start].rss),
                static_cast<unsigned long long>(samples_[start].frames), mib(samples_.back().rss),
                static_cast<unsigned long long>(samples_.back().frames), mib(first), mib(last), mib(growth),
                mib(allowed), slope / 1024.0);
  *report = line;
  const bool heap_known = std::all_of(samples_.begin() + static_cast<std::ptrdiff_t>(start), samples_.end(),
                                      [](const Sample& s) { return s.heap.has_value(); });
  bool heap_flat = true;
  if (heap_known) {
    // The heap in use is far steadier than RSS (no pages kept by the
    // allocator): a quarter of the RSS tolerance, or 3%.
    const auto heap = [](const Sample& s) { return *s.heap; };
    const double heap_first = mean(samples_, start, start + quarter, heap);
    const double heap_growth = mean(samples_, samples_.size() - quarter, samples_.size(), heap) - heap_first;
    const double heap_allowed = std::max(static_cast<double>(tolerance_bytes) / 4, 0.03 * heap_first);
    heap_flat = heap_growth < heap_allowed;
    std::snprintf(line, sizeof line,
                  "; heap in use: mean of first/last quarter after warm-up %.1f -> %.1f MiB (%+.2f MiB, allowed %.1f)",
                  mib(heap_first), mib(heap_first + heap_growth), mib(heap_growth), mib(heap_allowed));
    *report += line;
  }
  if (samples_.back().device && samples_[start].device) {
    std::snprintf(line, sizeof line, "; device memory in use %.1f -> %.1f MiB", mib(*samples_[start].device),
                  mib(*samples_.back().device));
    *report += line;
  }
  return growth < allowed && heap_flat;
}

}  // namespace stress
