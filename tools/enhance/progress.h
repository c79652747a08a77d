// What gpen-enhance shows while it works: a progress bar redrawn in place on
// a terminal, one plain line per item otherwise (logs, CI, pipes), and the
// summary at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace gpen_tools {

struct RunTotals {
  std::size_t done = 0;     // restored and written
  std::size_t failed = 0;
  std::size_t skipped = 0;  // --skip-existing
  std::uint64_t faces = 0;
  std::vector<std::string> failures;  // "name: why"
};

class Progress {
 public:
  // `terminal`: draw a bar on `out` (else log lines). `unit`: "images",
  // "frames". `label` (a video's name) starts every line.
  Progress(std::FILE* out, bool terminal, std::size_t total, const char* unit,
           std::string label = {});

  // An item finished: restored (`faces` in it), failed (`error` set) or skipped.
  void finished(const std::string& name, unsigned faces);
  void failed(const std::string& name, const std::string& error);
  void skipped(const std::string& name);
  // For streams counted in frames: `done` so far and the faces in them.
  void frames(std::size_t done, std::uint64_t faces);
  // The total is known late for videos (from their duration).
  void set_total(std::size_t total);
  // Redraws the bar (on a terminal) so that rate and ETA stay current.
  void tick();
  // Clears the bar; what follows is printed on a clean line.
  void close();

  RunTotals totals() const;
  double seconds() const;  // since the first item started

 private:
  void draw_locked();
  void line_locked(const std::string& text);
  std::string status_locked() const;

  std::FILE* out_;
  bool terminal_;
  const char* unit_;
  std::string label_;
  std::size_t total_;
  RunTotals totals_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_line_{};
  bool drawn_ = false;
  mutable std::mutex lock_;
};

// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace gpen_tools
