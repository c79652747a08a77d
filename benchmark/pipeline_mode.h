// gpen-benchmark --mode pipeline: the real GStreamer pipeline of
// gpen-enhance (decoding workers, appsrc ! gpenenhance ! appsink, encoding
// workers) over a folder of images, decode to written file, with the table
// of where the time went.
#pragma once

#include <string>
#include <vector>

struct PipelineBench {
  std::string model;           // a GPEN checkpoint (the element needs a file)
  std::string detector_model;  // empty: the cascade
  std::string device = "auto";
  std::string precision = "auto";
  std::vector<std::string> inputs;  // images and folders of images
  std::vector<int> batches;         // 0: automatic
  int jobs = 0;                     // codec workers; 0: gpen-enhance's default
};

// Prints one row per batch size and each run's table; returns the exit
// status (1 when an image failed).
int run_pipeline_mode(const PipelineBench& bench);
