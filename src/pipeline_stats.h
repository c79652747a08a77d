// Where the time of a run goes: busy seconds per stage of the face path,
// summed over the frames, for the element's gpen-stats message and
// gpen-enhance --stats. The table decides what to make faster.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <string>

namespace gpen {

enum class Stage {
  Upload,     // frames read into tensors (and to the device)
  Detection,  // the face detector (on worker threads: their summed time)
  DetectionWait,  // the batcher waiting for detection workers
  Alignment,  // choosing faces, aligning and cropping them
  Network,    // GPEN over the batches (resizing and blending in aligned mode)
  PasteBack,  // restored faces warped back and blended into their frames
  Results,    // waiting for a batch's results and writing them into frames
};
constexpr std::size_t kStageCount = 7;

// "upload", "detection", ...: the names the message and the table use.
const char* stage_name(Stage stage);

struct PipelineStats {
  std::array<double, kStageCount> seconds{};  // busy time of each stage
  std::size_t frames = 0;   // frames that left
  std::size_t faces = 0;    // faces through the network
  std::size_t batches = 0;  // network runs
  double wall = 0;          // seconds since the first frame came

  double& operator[](Stage stage) { return seconds[static_cast<std::size_t>(stage)]; }
  double operator[](Stage stage) const { return seconds[static_cast<std::size_t>(stage)]; }
  double total_seconds() const;
  PipelineStats& operator+=(const PipelineStats& other);
};

// Adds the time from its construction to its destruction to a stage.
class StageTimer {
 public:
  StageTimer(PipelineStats& stats, Stage stage)
      : stats_(stats), stage_(stage), start_(std::chrono::steady_clock::now()) {}
  ~StageTimer() {
    stats_[stage_] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  PipelineStats& stats_;
  Stage stage_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace gpen
