// gpen-enhance's command line.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "shard.h"

namespace gpen_tools {

enum class OutputFormat { Same, Jpeg, Png };

struct Options {
  std::vector<std::string> inputs;
  std::string output;

  // The element's properties.
  std::string model;           // a path, or a file name in the model folder; empty: the default
  std::string detector_model;  // likewise; empty: RetinaFace-R50.pth when it is there
  std::string detector = "auto";
  std::string parse_model;     // likewise; empty: ParseNet-latest.pth when it is there
  std::string paste_mask = "auto";  // auto, parse or rectangle
  bool aligned = false;
  bool colorize = false;  // task=colorize; implies aligned
  int batch_size = 0;
  std::string device = "auto";
  std::string precision = "auto";
  double strength = 1.0;
  double denoise = 0.0;
  double sharpen = 0.0;
  int max_faces = 0;
  // Videos (frames with a frame rate): faces tracked from frame to frame,
  // their alignment smoothed, searched for every detection_interval-th frame.
  bool tracking = true;
  double smoothing = 0.6;
  int detection_interval = 1;

  // The command's own.
  int max_size = 0;  // 0: never downscale
  OutputFormat format = OutputFormat::Same;
  int quality = 95;
  bool skip_existing = false;
  int jobs = 0;  // 0: automatic
  bool stats = false;  // --stats: where the time went, as a table at the end
  Shard shard;              // --shard K/N; the whole run by default
  std::string report;       // --report FILE.json; empty: none
  bool merge_reports = false;  // --merge-reports: `inputs` are reports, `output` the merged one (optional)

  // Not on the command line: what a run sets on the element itself.
  unsigned long long batch_timeout = 0;  // ns
};

// A command line that cannot run; the message says why, for the user.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses and validates argv. Prints --help itself and exits 0 for it.
Options parse_options(int argc, char** argv);

}  // namespace gpen_tools
