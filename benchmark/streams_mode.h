// gpen-benchmark --mode streams: N live streams (appsrc with a face image,
// paced at a frame rate) through N gpenenhance elements in one pipeline,
// sharing one engine (model-instance-id) or each with its own: faces/s,
// mean faces per batch, per-stream latency (appsrc to appsink) and the
// process's memory. Each row runs in a fresh process, so that its memory is
// its own.
#pragma once

#include <string>
#include <vector>

struct StreamsBench {
  std::string model;           // a GPEN checkpoint
  std::string device = "cpu";
  std::string input;           // the face image every frame carries
  std::string face_mode = "aligned";  // aligned: the image resized to --size; full: as it is
  int size = 128;              // aligned mode: frame width and height
  std::vector<int> streams = {1, 4, 8};
  std::vector<std::string> shared = {"off", "on"};
  int batch_size = 8;
  int frames = 50;             // per stream
  int fps = 25;
  double batch_timeout_ms = 40;
  std::string self;            // this program, to run each row in its own process
  bool row_only = false;       // run one row (streams[0], shared[0]) and print it
};

// Prints the table (one row per streams x shared); returns the exit status.
int run_streams_mode(const StreamsBench& bench);
