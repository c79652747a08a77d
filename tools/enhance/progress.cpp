#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace gpen_tools {

namespace {

int terminal_columns(std::FILE* out) {
  winsize size{};
  if (ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 20) return size.ws_col;
  return 80;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long total = std::lround(seconds);
  char text[32];
  if (total >= 3600)
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  else
    std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  return text;
}

Progress::Progress(std::FILE* out, bool terminal, std::size_t total, const char* unit,
                   std::string label)
    : out_(out), terminal_(terminal), unit_(unit), label_(std::move(label)), total_(total),
      start_(std::chrono::steady_clock::now()) {}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

// "12/40 images  37 faces  2.3 images/s  ETA 0:12"
std::string Progress::status_locked() const {
  const std::size_t counted = totals_.done + totals_.failed + totals_.skipped;
  const double elapsed = seconds();
  // Skipped items cost nothing: leave them out of the rate.
  const std::size_t worked = totals_.done + totals_.failed;
  const double rate = elapsed > 0 ? worked / elapsed : 0.0;
  char text[160];
  int n = 0;
  if (total_ > 0)  // a video's total is known once its duration is
    n = std::snprintf(text, sizeof text, "%zu/%zu %s", counted, total_, unit_);
  else
    n = std::snprintf(text, sizeof text, "%zu %s", counted, unit_);
  n += std::snprintf(text + n, sizeof text - n, "  %llu faces  %.1f %s/s",
                     static_cast<unsigned long long>(totals_.faces), rate, unit_);
  if (rate > 0 && counted < total_)
    std::snprintf(text + n, sizeof text - n, "  ETA %s",
                  format_duration((total_ - counted) / rate).c_str());
  return label_.empty() ? std::string(text) : label_ + ": " + text;
}

void Progress::draw_locked() {
  if (!terminal_) return;
  const std::string status = status_locked();
  const int columns = terminal_columns(out_);
  const int width = std::max(10, std::min(40, columns - static_cast<int>(status.size()) - 4));
  const std::size_t counted = totals_.done + totals_.failed + totals_.skipped;
  const int filled = total_ ? static_cast<int>(width * std::min<std::size_t>(counted, total_) / total_) : 0;
  std::string bar(filled, '#');
  bar.resize(width, '.');
  std::fprintf(out_, "\r\033[K[%s] %s", bar.c_str(), status.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void Progress::line_locked(const std::string& text) {
  if (terminal_) {
    // Above the bar, which is then drawn again below.
    std::fprintf(out_, "\r\033[K%s\n", text.c_str());
    draw_locked();
  } else {
    std::fprintf(out_, "%s\n", text.c_str());
    std::fflush(out_);
  }
}

void Progress::finished(const std::string& name, unsigned faces) {
  std::lock_guard<std::mutex> lock(lock_);
  ++totals_.done;
  totals_.faces += faces;
  if (terminal_) {
    draw_locked();
  } else {
    line_locked("[" + status_locked() + "] " + name + ": " + std::to_string(faces) +
                (faces == 1 ? " face" : " faces"));
  }
}

void Progress::failed(const std::string& name, const std::string& error) {
  std::lock_guard<std::mutex> lock(lock_);
  ++totals_.failed;
  totals_.failures.push_back(name + ": " + error);
  line_locked((terminal_ ? "" : "[" + status_locked() + "] ") + name + ": FAILED: " + error);
}

void Progress::skipped(const std::string& name) {
  std::lock_guard<std::mutex> lock(lock_);
  ++totals_.skipped;
  if (terminal_) draw_locked();
  else line_locked("[" + status_locked() + "] " + name + ": skipped, its output is there");
}

void Progress::frames(std::size_t done, std::uint64_t faces) {
  std::lock_guard<std::mutex> lock(lock_);
  totals_.done = done;
  totals_.faces = faces;
  if (terminal_) {
    draw_locked();
    return;
  }
  // A line a second is plenty in a log.
  const auto now = std::chrono::steady_clock::now();
  if (now - last_line_ >= std::chrono::seconds(1)) {
    last_line_ = now;
    line_locked("[" + status_locked() + "]");
  }
}

void Progress::set_total(std::size_t total) {
  std::lock_guard<std::mutex> lock(lock_);
  total_ = total;
}

void Progress::tick() {
  std::lock_guard<std::mutex> lock(lock_);
  if (drawn_) draw_locked();
}

void Progress::close() {
  std::lock_guard<std::mutex> lock(lock_);
  if (terminal_ && drawn_) {
    draw_locked();
    std::fprintf(out_, "\n");
    std::fflush(out_);
    drawn_ = false;
  }
}

RunTotals Progress::totals() const {
  std::lock_guard<std::mutex> lock(lock_);
  return totals_;
}

}  // namespace gpen_tools
