#include "merge.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "report.h"

namespace gpen_tools {

int merge_report_files(const std::vector<std::string>& files, const std::string& output) {
  std::vector<std::pair<std::string, Report>> reports;
  bool unreadable = false;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "gpen-enhance: %s: cannot read it\n", file.c_str());
      unreadable = true;
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    try {
      reports.emplace_back(file, parse_report(text.str()));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpen-enhance: %s: %s\n", file.c_str(), e.what());
      unreadable = true;
    }
  }
  // A report that cannot be read is not merged over: its shard's work
  // would look missing, or done, for the wrong reason.
  if (unreadable) return 2;

  const MergedReport merged = merge_reports(reports);
  constexpr std::size_t kShown = 20;
  std::printf("gpen-enhance: merged %s\n", merged_summary(merged).c_str());
  for (const auto& problem : merged.problems) std::printf("  %s\n", problem.c_str());
  // Every line of a large archive's run would drown the summary.
  std::size_t listed = 0;
  for (const auto& record : merged.records)
    if ((record.status == Status::Failed || record.status == Status::NotRun) && listed++ < kShown)
      std::printf("  %s: %s%s%s\n", record.input.c_str(), status_name(record.status),
                  record.error.empty() ? "" : ": ", record.error.c_str());
  // An input in two reports is usually a resumed shard (the cancelled
  // attempt's not_run or restored, the re-run's restored or skipped): done
  // once, and only counted. Restored twice is work done twice: listed.
  std::size_t shown = 0;
  for (const auto& duplicate : merged.duplicates) {
    std::size_t restored = 0;
    std::string where;
    for (const auto& [report, status] : duplicate.seen) {
      restored += status == Status::Restored;
      where += std::string(where.empty() ? "" : ", ") + report + " (" + status_name(status) + ")";
    }
    if (restored < 2) continue;
    if (shown++ == kShown) {
      std::printf("  ... and more restored twice (-o FILE.json lists them all)\n");
      break;
    }
    std::printf("  restored twice: %s in %s\n", duplicate.input.c_str(), where.c_str());
  }
  std::fflush(stdout);
  if (!output.empty()) {
    const std::string error = write_file_atomically(output, merged_json(merged));
    if (!error.empty()) {
      std::fprintf(stderr, "gpen-enhance: cannot write the merged report: %s\n", error.c_str());
      return 2;
    }
  }
  return merged.complete() ? 0 : 1;
}

}  // namespace gpen_tools
