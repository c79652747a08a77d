#include "image_run.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "work_queue.h"

namespace gpen_tools {

namespace {

// Decoded images held at once may not exceed a quarter of the memory.
std::size_t memory_budget() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return std::size_t(2) << 30;
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / 4;
}

int worker_count(const Options& options) {
  if (options.jobs > 0) return options.jobs;
  const unsigned cpus = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(cpus, 1u, 8u));
}

// Everything the workers, the output thread and the dispatcher share.
class ImageRun {
 public:
  ImageRun(const std::vector<ImageJob>& jobs, const Options& options, const ModelPaths& models,
           Progress& progress)
      : jobs_(jobs), options_(options), progress_(progress),
        enhancer_(with_safety_timeout(options), models), workers_(worker_count(options)) {
    // Enough images in flight for the element to fill a batch (it holds up
    // to batch-size frames) while every worker decodes the next ones.
    window_ = static_cast<std::size_t>(enhancer_.batch_size() + workers_ + 2);
    outcomes_.resize(jobs.size());
    // A test hook, for the tests that cancel a run midway (the Slurm one):
    // each image waits this long before it is decoded, so that a run of a
    // few small images lasts long enough to be interrupted. Not for users.
    if (const char* delay = std::getenv("GPEN_ENHANCE_TEST_DELAY_MS"))
      delay_ = std::chrono::milliseconds(std::max(0, std::atoi(delay)));
    started_.resize(jobs.size());
  }

  ImageRunResult run(const std::atomic<bool>& interrupted) {
    std::vector<std::thread> threads;
    for (int i = 0; i < workers_; ++i)
      threads.emplace_back([this] {
        WorkQueue::Task task;
        while (queue_.pop(task)) task();
      });
    std::thread output([this] { collect_output(); });

    ImageRunResult result;
    result.device = enhancer_.device();
    result.batch_size = enhancer_.batch_size();
    std::size_t next = 0;
    bool eos_sent = false;
    {
      std::unique_lock<std::mutex> lock(lock_);
      for (;;) {
        while (next < jobs_.size() && in_flight_ < window_ && bytes_in_flight_ < budget_) {
          ++in_flight_;
          const std::size_t index = next++;
          queue_.push([this, index] { decode(index); }, false);
        }
        if (!eos_sent && decoded_ == jobs_.size()) {
          enhancer_.end_of_stream();  // drains the last partial batch
          eos_sent = true;
        }
        if (settled_ == jobs_.size()) break;
        result.fatal = enhancer_.error();
        if (!result.fatal.empty() || interrupted) break;
        changed_.wait_for(lock, std::chrono::milliseconds(200));
        lock.unlock();
        progress_.tick();
        lock.lock();
      }
      result.not_run = jobs_.size() - settled_;
    }
    // Stop what remains (nothing when all settled): pull() returns null,
    // queued tasks are dropped, running ones finish.
    {
      std::lock_guard<std::mutex> lock(lock_);
      stopping_ = true;
    }
    enhancer_.stop();
    queue_.close();
    output.join();
    for (auto& thread : threads) thread.join();
    {
      std::lock_guard<std::mutex> lock(lock_);
      result.not_run = jobs_.size() - settled_;
      result.outcomes = outcomes_;
    }
    {
      RunStats& stats = result.stats;
      // Posted at EOS, as the last images leave: a moment at most.
      if (eos_sent) enhancer_.take_stats(stats, 2000);
      stats.codec_threads = workers_;
      stats.decode = times_.decode_ns.load() * 1e-9;
      stats.convert = times_.convert_ns.load() * 1e-9;
      stats.encode = times_.encode_ns.load() * 1e-9;
    }
    return result;
  }

 private:
  // On a GPU the element waits for batch-size frames' faces; if decoding
  // cannot keep up (or the memory budget holds images back), a partial
  // batch goes after this long rather than the GPU idling on it.
  static Options with_safety_timeout(const Options& options) {
    Options adjusted = options;
    adjusted.batch_timeout = 2 * GST_SECOND;
    return adjusted;
  }

  void decode(std::size_t index) {
    const ImageJob& job = jobs_[index];
    {
      std::lock_guard<std::mutex> lock(lock_);
      started_[index] = std::chrono::steady_clock::now();
    }
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    DecodedImage decoded = decode_image(job.input, options_.max_size, &times_);
    if (!decoded.sample) {
      settle(index, decoded.error, 0, true);
      return;
    }
    const std::size_t bytes = gst_buffer_get_size(gst_sample_get_buffer(decoded.sample.get()));
    {
      std::lock_guard<std::mutex> lock(lock_);
      bytes_in_flight_ += bytes;
      bytes_of_.emplace(index, bytes);
    }
    const bool pushed = enhancer_.push(index, decoded.sample.get());
    decoded.sample.reset();
    if (!pushed) {
      if (!abandoned(index)) settle(index, "the enhancing pipeline stopped", 0, true);
      return;
    }
    std::lock_guard<std::mutex> lock(lock_);
    ++decoded_;
    changed_.notify_all();
  }

  void collect_output() {
    std::uint64_t index = 0;
    while (SamplePtr sample = enhancer_.pull(index)) {
      if (index >= jobs_.size()) continue;  // not ours: cannot happen
      auto shared = std::make_shared<SamplePtr>(std::move(sample));
      queue_.push([this, index, shared] { encode(index, shared->get()); }, true);
    }
  }

  void encode(std::size_t index, GstSample* sample) {
    const ImageJob& job = jobs_[index];
    const std::string error =
        encode_image(sample, job.output, job.encoder, options_.quality, &times_);
    settle(index, error, enhancer_.take_faces(index), false);
  }

  // An image that met the pipeline stopped by an interruption: not run
  // (what a report says of it), rather than failed.
  bool abandoned(std::size_t index) {
    std::lock_guard<std::mutex> lock(lock_);
    if (!stopping_) return false;
    ++decoded_;
    auto bytes = bytes_of_.find(index);
    if (bytes != bytes_of_.end()) {
      bytes_in_flight_ -= bytes->second;
      bytes_of_.erase(bytes);
    }
    --in_flight_;
    changed_.notify_all();
    return true;
  }

  // An image is finished, one way or the other.
  void settle(std::size_t index, const std::string& error, unsigned faces, bool before_enhancer) {
    if (error.empty()) progress_.finished(jobs_[index].name, faces);
    else progress_.failed(jobs_[index].name, error);
    std::lock_guard<std::mutex> lock(lock_);
    ImageOutcome& outcome = outcomes_[index];
    outcome.settled = true;
    outcome.error = error;
    outcome.faces = faces;
    outcome.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_[index]).count();
    if (before_enhancer) ++decoded_;  // it will never reach the enhancer
    auto bytes = bytes_of_.find(index);
    if (bytes != bytes_of_.end()) {
      bytes_in_flight_ -= bytes->second;
      bytes_of_.erase(bytes);
    }
    --in_flight_;
    ++settled_;
    changed_.notify_all();
  }

  const std::vector<ImageJob>& jobs_;
  const Options& options_;
  Progress& progress_;
  ImageEnhancer enhancer_;
  const int workers_;
  WorkQueue queue_;
  CodecTimes times_;

  std::mutex lock_;
  std::condition_variable changed_;
  std::size_t window_ = 1;
  const std::size_t budget_ = memory_budget();
  std::size_t in_flight_ = 0;        // dispatched and not yet settled
  std::size_t bytes_in_flight_ = 0;  // decoded pixels held
  std::map<std::size_t, std::size_t> bytes_of_;
  std::size_t decoded_ = 0;          // pushed to the enhancer, or failed before it
  std::size_t settled_ = 0;
  bool stopping_ = false;
  std::chrono::milliseconds delay_{0};
  std::vector<ImageOutcome> outcomes_;
  std::vector<std::chrono::steady_clock::time_point> started_;
};

}  // namespace

ImageRunResult run_images(const std::vector<ImageJob>& jobs, const Options& options,
                          const ModelPaths& models, Progress& progress,
                          const std::atomic<bool>& interrupted) {
  if (jobs.empty()) return {};
  ImageRun run(jobs, options, models, progress);
  return run.run(interrupted);
}

}  // namespace gpen_tools
