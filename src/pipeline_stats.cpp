#include "pipeline_stats.h"

#include <algorithm>

namespace gpen {

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::Upload: return "upload";
    case Stage::Detection: return "detection";
    case Stage::DetectionWait: return "detection-wait";
    case Stage::Alignment: return "alignment";
    case Stage::Network: return "network";
    case Stage::PasteBack: return "paste-back";
    case Stage::Results: return "results";
  }
  return "?";
}

double PipelineStats::total_seconds() const {
  double total = 0;
  for (const double s : seconds) total += s;
  return total;
}

PipelineStats& PipelineStats::operator+=(const PipelineStats& other) {
  for (std::size_t i = 0; i < kStageCount; ++i) seconds[i] += other.seconds[i];
  frames += other.frames;
  faces += other.faces;
  batches += other.batches;
  wall = std::max(wall, other.wall);
  return *this;
}

}  // namespace gpen
