#include "run_stats.h"

#include <cstdio>
#include <utility>
#include <vector>

namespace gpen_tools {
namespace {

struct Row {
  std::string name;
  double seconds;
  std::string note;
};

std::vector<Row> rows_of(const RunStats& s) {
  auto element = [&](const char* key) {
    const auto found = s.element.find(key);
    return found == s.element.end() ? 0.0 : found->second;
  };
  const std::string codec = "on " + std::to_string(s.codec_threads) + " workers";
  const std::string detection = s.detection_threads > 0
                                    ? "on " + std::to_string(s.detection_threads) + " threads"
                                    : "in the element's thread";
  return {
      {"decode", s.decode, codec},
      {"colour conversion", s.convert, codec},
      {"upload", element("upload"), "frames into tensors (and to the GPU)"},
      {"detection", element("detection"), detection},
      {"detection wait", element("detection-wait"), "the element waiting for detection"},
      {"alignment", element("alignment"), ""},
      {"network", element("network"), std::to_string(s.batches) + " batches"},
      {"paste-back", element("paste-back"), ""},
      {"results", element("results"), "waiting for the device, writing frames"},
      {"encode", s.encode, codec},
  };
}

}  // namespace

std::string stats_table(const RunStats& s) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line,
                "Where the time went (%zu images, %zu faces, %.2f s wall; busy time summed over "
                "threads):\n",
                s.images, s.faces, s.wall);
  out += line;
  std::snprintf(line, sizeof line, "  %-18s %9s %10s %8s\n", "stage", "busy s", "ms/image",
                "% wall");
  out += line;
  for (const auto& row : rows_of(s)) {
    const double per_image = s.images ? 1000.0 * row.seconds / s.images : 0.0;
    const double share = s.wall > 0 ? 100.0 * row.seconds / s.wall : 0.0;
    std::snprintf(line, sizeof line, "  %-18s %9.2f %10.1f %7.0f%%  %s\n", row.name.c_str(),
                  row.seconds, per_image, share, row.note.c_str());
    out += line;
  }
  return out;
}

std::string bound_by(const RunStats& s) {
  if (s.wall <= 0) return {};
  Row top{"", 0, ""};
  for (auto& row : rows_of(s))
    if (row.seconds > top.seconds) top = std::move(row);
  if (top.seconds <= 0) return {};
  std::string stage = top.name == "colour conversion" ? "conversion" : top.name;
  for (auto& c : stage)
    if (c == ' ') c = '-';
  char line[256];
  std::snprintf(line, sizeof line, "%s-bound: %s busy %.0f%% of the wall time%s%s%s",
                stage.c_str(), top.name.c_str(), 100.0 * top.seconds / s.wall,
                top.note.empty() ? "" : " (", top.note.c_str(), top.note.empty() ? "" : ")");
  return line;
}

}  // namespace gpen_tools
