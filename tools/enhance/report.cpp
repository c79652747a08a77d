#include "report.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>

#include "json.h"

namespace gpen_tools {

namespace {

constexpr const char* kFormat = "gpen-enhance-report/1";
constexpr const char* kMergedFormat = "gpen-enhance-merged-report/1";

using Type = JsonValue::Type;

// Lower is better: what a merge keeps for an input seen more than once.
int rank(Status status) {
  switch (status) {
    case Status::Restored: return 0;
    case Status::Skipped: return 1;
    case Status::Failed: return 2;
    case Status::NotRun: return 3;
  }
  return 3;
}

Status parse_status(const std::string& name) {
  for (Status s : {Status::Restored, Status::Failed, Status::Skipped, Status::NotRun})
    if (name == status_name(s)) return s;
  throw std::runtime_error("unknown status \"" + name + "\"");
}

std::string totals_json(const ReportTotals& t) {
  return "{\"inputs\": " + std::to_string(t.inputs) + ", \"restored\": " +
         std::to_string(t.restored) + ", \"failed\": " + std::to_string(t.failed) +
         ", \"skipped\": " + std::to_string(t.skipped) + ", \"not_run\": " +
         std::to_string(t.not_run) + ", \"faces\": " + std::to_string(t.faces) +
         ", \"seconds\": " + json_number(t.seconds) + "}";
}

std::string records_json(const std::vector<ReportRecord>& records) {
  std::string out = "[";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const ReportRecord& r = records[i];
    out += i ? ",\n    " : "\n    ";
    out += "{\"input\": " + json_string(r.input) + ", \"status\": \"" + status_name(r.status) +
           "\", \"faces\": " + std::to_string(r.faces) + ", \"seconds\": " +
           json_number(r.seconds) + ", \"output\": " + json_string(r.output) +
           ", \"error\": " + json_string(r.error) + "}";
  }
  return out + (records.empty() ? "]" : "\n  ]");
}

// Members of a parsed report, with its shape checked as they are read.
const JsonValue& member(const JsonValue& object, const char* name, Type type) {
  const JsonValue* value = object.find(name);
  if (!value) throw std::runtime_error(std::string("no \"") + name + "\"");
  if (!value->is(type)) throw std::runtime_error(std::string("\"") + name + "\" has the wrong type");
  return *value;
}

std::uint64_t count_member(const JsonValue& object, const char* name) {
  const double value = member(object, name, Type::Number).number;
  if (!(value >= 0 && value <= 9007199254740992.0) || value != static_cast<double>(static_cast<std::uint64_t>(value)))
    throw std::runtime_error(std::string("\"") + name + "\" is not a count");
  return static_cast<std::uint64_t>(value);
}

double seconds_member(const JsonValue& object, const char* name) {
  const JsonValue* value = object.find(name);
  if (value && value->is(Type::Null)) return 0;  // written for a time that was not finite
  return member(object, name, Type::Number).number;
}

}  // namespace

const char* status_name(Status status) {
  switch (status) {
    case Status::Restored: return "restored";
    case Status::Failed: return "failed";
    case Status::Skipped: return "skipped";
    case Status::NotRun: return "not_run";
  }
  return "not_run";
}

ReportTotals totals_of(const std::vector<ReportRecord>& records) {
  ReportTotals t;
  for (const auto& r : records) {
    ++t.inputs;
    t.faces += r.faces;
    t.seconds += r.seconds;
    switch (r.status) {
      case Status::Restored: ++t.restored; break;
      case Status::Failed: ++t.failed; break;
      case Status::Skipped: ++t.skipped; break;
      case Status::NotRun: ++t.not_run; break;
    }
  }
  return t;
}

std::string report_json(const Report& report) {
  std::string out = "{\n  \"format\": \"" + std::string(kFormat) + "\",\n  \"shard\": ";
  out += report.sharded ? "{\"index\": " + std::to_string(report.shard.index) +
                              ", \"count\": " + std::to_string(report.shard.count) + "}"
                        : "null";
  out += ",\n  \"output\": " + json_string(report.output);
  out += ",\n  \"interrupted\": " + std::string(report.interrupted ? "true" : "false");
  out += ",\n  \"fatal\": " + json_string(report.fatal);
  out += ",\n  \"seconds\": " + json_number(report.seconds);
  out += ",\n  \"totals\": " + totals_json(totals_of(report.records));
  out += ",\n  \"records\": " + records_json(report.records) + "\n}\n";
  return out;
}

Report parse_report(const std::string& text) {
  const JsonValue root = parse_json(text);
  if (!root.is(Type::Object)) throw std::runtime_error("not a JSON object");
  const JsonValue* format = root.find("format");
  if (!format || !format->is(Type::String) || format->string != kFormat)
    throw std::runtime_error(std::string("not a gpen-enhance report (\"format\" is not \"") +
                             kFormat + "\")");
  Report report;
  const JsonValue* shard = root.find("shard");
  if (shard && !shard->is(Type::Null)) {
    if (!shard->is(Type::Object)) throw std::runtime_error("\"shard\" has the wrong type");
    const std::uint64_t index = count_member(*shard, "index"), count = count_member(*shard, "count");
    if (count == 0 || index >= count || count > 0xFFFFFFFFu)
      throw std::runtime_error("\"shard\" is not K/N with 0 <= K < N");
    report.sharded = true;
    report.shard.index = static_cast<unsigned>(index);
    report.shard.count = static_cast<unsigned>(count);
  }
  report.output = member(root, "output", Type::String).string;
  report.interrupted = member(root, "interrupted", Type::Bool).boolean;
  report.fatal = member(root, "fatal", Type::String).string;
  report.seconds = seconds_member(root, "seconds");
  for (const JsonValue& item : member(root, "records", Type::Array).array) {
    if (!item.is(Type::Object)) throw std::runtime_error("a record is not an object");
    ReportRecord r;
    r.input = member(item, "input", Type::String).string;
    r.status = parse_status(member(item, "status", Type::String).string);
    r.faces = count_member(item, "faces");
    r.seconds = seconds_member(item, "seconds");
    r.output = member(item, "output", Type::String).string;
    r.error = member(item, "error", Type::String).string;
    report.records.push_back(std::move(r));
  }
  // The totals are derived; a file whose totals disagree with its records
  // was edited or cut, and its records cannot be trusted either.
  const ReportTotals t = totals_of(report.records);
  const JsonValue& totals = member(root, "totals", Type::Object);
  if (count_member(totals, "inputs") != t.inputs || count_member(totals, "restored") != t.restored ||
      count_member(totals, "failed") != t.failed || count_member(totals, "skipped") != t.skipped ||
      count_member(totals, "not_run") != t.not_run || count_member(totals, "faces") != t.faces)
    throw std::runtime_error("its totals do not match its records");
  return report;
}

std::string write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return temporary + ": " + std::strerror(errno);
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;  // a signal (the interruption being reported)
    if (n <= 0) {
      const std::string error = temporary + ": " + std::strerror(n < 0 ? errno : ENOSPC);
      ::close(fd);
      ::unlink(temporary.c_str());
      return error;
    }
    written += static_cast<std::size_t>(n);
  }
  // On a shared file system the merge may run on another machine: the
  // data is on disk before the name appears.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string error = temporary + ": " + std::strerror(errno);
    ::unlink(temporary.c_str());
    return error;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string error = path + ": " + std::strerror(errno);
    ::unlink(temporary.c_str());
    return error;
  }
  return "";
}

bool MergedReport::complete() const {
  const ReportTotals t = totals_of(records);
  return t.failed == 0 && t.not_run == 0 && restored_twice == 0 && missing_shards.empty() &&
         problems.empty();
}

MergedReport merge_reports(const std::vector<std::pair<std::string, Report>>& reports) {
  MergedReport merged;
  std::map<std::string, ReportRecord> best;
  std::map<std::string, std::vector<std::pair<std::string, Status>>> seen;
  std::set<unsigned> counts, indices;
  for (const auto& [name, report] : reports) {
    merged.reports.push_back(name);
    merged.interrupted = merged.interrupted || report.interrupted;
    if (report.sharded) {
      counts.insert(report.shard.count);
      indices.insert(report.shard.index);
    } else if (reports.size() > 1) {
      merged.problems.push_back(name + ": not a shard's report (no --shard), merged with others");
    }
    for (const ReportRecord& r : report.records) {
      seen[r.input].emplace_back(name, r.status);
      auto [it, fresh] = best.emplace(r.input, r);
      if (!fresh && rank(r.status) < rank(it->second.status)) it->second = r;
    }
  }
  for (auto& [input, record] : best) merged.records.push_back(std::move(record));
  for (auto& [input, where] : seen) {
    if (where.size() < 2) continue;
    const auto restored = std::count_if(where.begin(), where.end(),
                                        [](const auto& s) { return s.second == Status::Restored; });
    if (restored > 1) ++merged.restored_twice;
    merged.duplicates.push_back({input, where});
  }
  if (counts.size() == 1) {
    merged.shard_count = *counts.begin();
    for (unsigned k = 0; k < merged.shard_count; ++k)
      if (!indices.count(k)) merged.missing_shards.push_back(k);
  } else if (counts.size() > 1) {
    std::string list;
    for (unsigned n : counts) list += (list.empty() ? "" : ", ") + std::to_string(n);
    merged.problems.push_back("the reports are of different splits (N = " + list +
                              "): their shards overlap");
  }
  return merged;
}

std::string merged_json(const MergedReport& merged) {
  std::string out = "{\n  \"format\": \"" + std::string(kMergedFormat) + "\",\n  \"reports\": [";
  for (std::size_t i = 0; i < merged.reports.size(); ++i)
    out += (i ? ", " : "") + json_string(merged.reports[i]);
  out += "],\n  \"complete\": " + std::string(merged.complete() ? "true" : "false");
  out += ",\n  \"interrupted\": " + std::string(merged.interrupted ? "true" : "false");
  out += ",\n  \"shards\": {\"count\": " + std::to_string(merged.shard_count) + ", \"missing\": [";
  for (std::size_t i = 0; i < merged.missing_shards.size(); ++i)
    out += (i ? ", " : "") + std::to_string(merged.missing_shards[i]);
  out += "]},\n  \"problems\": [";
  for (std::size_t i = 0; i < merged.problems.size(); ++i)
    out += (i ? ", " : "") + json_string(merged.problems[i]);
  out += "],\n  \"restored_twice\": " + std::to_string(merged.restored_twice);
  out += ",\n  \"duplicates\": [";
  for (std::size_t i = 0; i < merged.duplicates.size(); ++i) {
    const Duplicate& d = merged.duplicates[i];
    out += (i ? ",\n    " : "\n    ") + std::string("{\"input\": ") + json_string(d.input) +
           ", \"seen\": [";
    for (std::size_t k = 0; k < d.seen.size(); ++k)
      out += (k ? ", " : "") + std::string("{\"report\": ") + json_string(d.seen[k].first) +
             ", \"status\": \"" + status_name(d.seen[k].second) + "\"}";
    out += "]}";
  }
  out += merged.duplicates.empty() ? "]" : "\n  ]";
  out += ",\n  \"totals\": " + totals_json(totals_of(merged.records));
  out += ",\n  \"records\": " + records_json(merged.records) + "\n}\n";
  return out;
}

std::string merged_summary(const MergedReport& merged) {
  const ReportTotals t = totals_of(merged.records);
  std::string line = std::to_string(merged.reports.size()) +
                     (merged.reports.size() == 1 ? " report, " : " reports, ") +
                     std::to_string(t.inputs) + " inputs: " + std::to_string(t.restored) +
                     " restored, " + std::to_string(t.skipped) + " skipped, " +
                     std::to_string(t.failed) + " failed, " + std::to_string(t.not_run) +
                     " not run, " + std::to_string(t.faces) + " faces; ";
  if (merged.duplicates.empty())
    line += "no duplicates";
  else
    line += std::to_string(merged.duplicates.size()) + " duplicates (in more than one report), " +
            std::to_string(merged.restored_twice) + " restored twice";
  if (!merged.missing_shards.empty()) {
    line += "; missing shards:";
    for (unsigned k : merged.missing_shards)
      line += " " + std::to_string(k) + "/" + std::to_string(merged.shard_count);
  }
  return line + (merged.complete() ? "; complete" : "; INCOMPLETE");
}

}  // namespace gpen_tools
