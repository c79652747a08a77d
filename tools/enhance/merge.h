// gpen-enhance --merge-reports A.json B.json ... [-o ALL.json]: reads the
// shards' reports, prints one summary line (and what is wrong, if anything)
// and writes the merged report when asked to.
#pragma once

#include <string>
#include <vector>

namespace gpen_tools {

// 0: complete; 1: read and merged, but something failed, was not run, was
// done twice or a shard's report is missing; 2: a report could not be read
// or the merged one not written.
int merge_report_files(const std::vector<std::string>& files, const std::string& output);

}  // namespace gpen_tools
