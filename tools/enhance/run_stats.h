// Where the time of a gpen-enhance run went: the workers' decoding, colour
// conversion and encoding, and the element's stages (its gpen-stats message
// at EOS), as busy seconds beside the run's wall time. --stats prints the
// table; the summary line always says which stage bounded the run.
#pragma once

#include <atomic>
#include <map>
#include <string>

namespace gpen_tools {

// Busy time of the codec workers, summed over threads (thread-safe).
struct CodecTimes {
  std::atomic<long long> decode_ns{0};   // decoding pipelines, conversion excluded
  std::atomic<long long> convert_ns{0};  // videoconvert in the decoding and encoding pipelines
  std::atomic<long long> encode_ns{0};   // encoding pipelines and writing, conversion excluded
};

struct RunStats {
  double wall = 0;                       // seconds from the first image to the last
  std::size_t images = 0;
  std::size_t faces = 0;
  std::size_t batches = 0;
  int codec_threads = 1;
  int detection_threads = 0;             // 0: detection on the streaming thread
  double decode = 0, convert = 0, encode = 0;
  std::map<std::string, double> element;  // gpen-stats' stages: "detection", "network", ...
};

// The table, one row per stage: busy seconds, ms per image, % of the wall
// time (over 100 % when a stage runs on several threads at once).
std::string stats_table(const RunStats& stats);

// "detection-bound: detection busy 83% of the wall time (on 2 threads)", from
// the stage with the most busy time; empty without a wall time.
std::string bound_by(const RunStats& stats);

}  // namespace gpen_tools
