// --report FILE.json: what a run did with each of its inputs, for the
// scheduler's side of a sharded run (which shard failed what, what is left
// after a cancelled task), and --merge-reports, which adds the shards'
// reports into one.
//
// The file (format "gpen-enhance-report/1"):
//   {"format", "shard": {"index", "count"} or null, "output", "interrupted",
//    "fatal", "seconds", "totals": {inputs, restored, failed, skipped,
//    not_run, faces, seconds}, "records": [{input, status, faces, seconds,
//    output, error}]}
// status: restored, failed, skipped (--skip-existing found its output) or
// not_run (the run was interrupted, or its enhancer failed, first). A
// record's seconds are from its decoding to its file written; several
// images are in flight at once, so they add up to more than the run's.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "shard.h"

namespace gpen_tools {

enum class Status { Restored, Failed, Skipped, NotRun };
const char* status_name(Status status);

struct ReportRecord {
  std::string input;
  Status status = Status::NotRun;
  std::uint64_t faces = 0;
  double seconds = 0;
  std::string output;  // empty when there was none to write (a missing input)
  std::string error;
};

struct ReportTotals {
  std::size_t inputs = 0, restored = 0, failed = 0, skipped = 0, not_run = 0;
  std::uint64_t faces = 0;
  double seconds = 0;  // the records' sum
};
ReportTotals totals_of(const std::vector<ReportRecord>& records);

struct Report {
  bool sharded = false;
  Shard shard;
  std::string output;  // the run's OUTPUT
  bool interrupted = false;
  std::string fatal;   // the enhancer's failure, which left the rest not run
  double seconds = 0;  // the run's own wall time
  std::vector<ReportRecord> records;
};

std::string report_json(const Report& report);
// Throws std::runtime_error saying what is wrong with it.
Report parse_report(const std::string& text);

// Writes `bytes` to `path` by way of PATH.tmp and a rename, so that a
// reader (a merge, a scheduler's check) never sees half a file. Returns
// the error, or "".
std::string write_file_atomically(const std::string& path, const std::string& bytes);

// Several shards' reports in one. An input in more than one report is a
// duplicate, listed; it counts once, with its best status (restored, then
// skipped, failed, not_run): a cancelled task's report and its re-run's
// may both hold it, and it is done if either did it. Restored in two
// reports is worse: two runs did the same work (the shards overlapped).
struct Duplicate {
  std::string input;
  std::vector<std::pair<std::string, Status>> seen;  // report, status there
};

struct MergedReport {
  std::vector<std::string> reports;
  std::vector<ReportRecord> records;  // one per input, sorted by input
  std::vector<Duplicate> duplicates;
  std::size_t restored_twice = 0;
  unsigned shard_count = 0;             // N when every report says the same N, else 0
  std::vector<unsigned> missing_shards;  // of 0..N-1, those no report is for
  std::vector<std::string> problems;     // reports that disagree on N, unsharded ones...
  bool interrupted = false;              // one of the runs was
  // Nothing failed or left undone, no work was done twice, every shard is there.
  bool complete() const;
};

MergedReport merge_reports(const std::vector<std::pair<std::string, Report>>& reports);
std::string merged_json(const MergedReport& merged);
// "4 reports, 40 inputs: 38 restored, 2 skipped, 0 failed, 0 not run, 57
// faces; no duplicates; complete"
std::string merged_summary(const MergedReport& merged);

}  // namespace gpen_tools
