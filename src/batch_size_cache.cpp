#include "batch_size_cache.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

namespace gpen {
namespace {

constexpr const char* kVersion = "gst-gpen-batch-v1";

// Keys are one field of a tab-separated line.
std::string field(std::string text) {
  for (auto& c : text)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return text;
}

std::string format_line(const std::string& key, const BatchChoice& c) {
  std::ostringstream line;
  line << kVersion << '\t' << field(key) << '\t' << c.batch << '\t' << c.fits << '\t'
       << c.memory.free_bytes << '\t' << c.memory.per_face_bytes << '\t';
  for (std::size_t i = 0; i < c.samples.size(); ++i)
    line << (i ? "," : "") << c.samples[i].batch << ':' << c.samples[i].faces_per_second;
  return line.str();
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  return parts;
}

// Whole-string numbers only: "12abc" is corrupt, not 12.
template <typename T>
bool parse(const std::string& text, T& value) {
  std::istringstream in(text);
  in >> value;
  return !in.fail() && in.peek() == std::char_traits<char>::eof();
}

// The key and choice of a valid line.
std::optional<std::pair<std::string, BatchChoice>> parse_line(const std::string& line) {
  const auto parts = split(line, '\t');
  if (parts.size() != 7 || parts[0] != kVersion || parts[1].empty()) return std::nullopt;
  BatchChoice c;
  if (!parse(parts[2], c.batch) || !parse(parts[3], c.fits) ||
      !parse(parts[4], c.memory.free_bytes) || !parse(parts[5], c.memory.per_face_bytes))
    return std::nullopt;
  if (c.batch < 1 || c.batch > kMaxBatchSize || c.fits < c.batch || c.fits > kMaxBatchSize)
    return std::nullopt;
  if (!parts[6].empty()) {
    for (const auto& sample : split(parts[6], ',')) {
      const auto pair = split(sample, ':');
      ThroughputSample s;
      if (pair.size() != 2 || !parse(pair[0], s.batch) || !parse(pair[1], s.faces_per_second) ||
          s.batch < 1 || !(s.faces_per_second >= 0))
        return std::nullopt;
      c.samples.push_back(s);
    }
  }
  return std::make_pair(parts[1], c);
}

std::vector<std::pair<std::string, BatchChoice>> read_all(const std::string& path) {
  std::vector<std::pair<std::string, BatchChoice>> entries;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (auto entry = parse_line(line)) entries.push_back(std::move(*entry));
  return entries;
}

}  // namespace

std::string BatchSizeCache::default_path() {
  if (const char* set = std::getenv("GPEN_BATCH_CACHE"))
    return std::string(set) == "0" ? std::string() : std::string(set);
  namespace fs = std::filesystem;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg && fs::path(xdg).is_absolute())
    return (fs::path(xdg) / "gst-gpen" / "batch-size.txt").string();
  if (const char* home = std::getenv("HOME"); home && *home)
    return (fs::path(home) / ".cache" / "gst-gpen" / "batch-size.txt").string();
  return {};
}

std::optional<BatchChoice> BatchSizeCache::find(const std::string& key) const {
  if (path_.empty()) return std::nullopt;
  for (auto& [stored, choice] : read_all(path_))
    if (stored == field(key)) return choice;
  return std::nullopt;
}

bool BatchSizeCache::store(const std::string& key, const BatchChoice& choice) const {
  namespace fs = std::filesystem;
  if (path_.empty()) return false;
  std::error_code error;
  const fs::path target(path_);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), error);
  // Another process may write beside us: a name of our own for the draft.
  const std::string draft = path_ + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(draft, std::ios::trunc);
    if (!out) return false;
    for (const auto& [stored, kept] : read_all(path_))
      if (stored != field(key)) out << format_line(stored, kept) << '\n';
    out << format_line(key, choice) << '\n';
    if (!out.flush()) {
      fs::remove(draft, error);
      return false;
    }
  }
  fs::rename(draft, target, error);
  if (error) fs::remove(draft, error);
  return !error;
}

}  // namespace gpen
