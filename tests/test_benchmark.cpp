// gpen-benchmark, run as a user runs it, on the fixtures and the CPU: its
// table has a row for every batch size asked for, each mode runs, --profile
// writes the traces that scripts/gpu/trace_summary.py reads, and a trace or
// an option that cannot be honoured is an error, not a line that says done.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "tool_runner.h"

namespace {

using namespace gpen_test;

const std::string kData = GPEN_TEST_DATA_DIR;
const std::string kGpen = kData + "/gpen-64/gpen-64.pth";
const std::string kRetinaFace = kData + "/retinaface-mnet/retinaface-mnet.pth";
const std::string kImage = kData + "/images/astronaut.png";

RunResult benchmark(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {GPEN_BENCHMARK, "--model", kGpen, "--device", "cpu",
                                   "--iterations", "1", "--warmup", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

// The table's data rows, cell by cell (header and separator left out).
std::vector<std::vector<std::string>> table_rows(const std::string& out) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("| ", 0) != 0 || contains(line, "| precision |") || contains(line, "| batch |") ||
        contains(line, "| streams |"))
      continue;
    std::vector<std::string> cells;
    std::istringstream parts(line.substr(1));
    std::string cell;
    while (std::getline(parts, cell, '|')) cells.push_back(trim(cell));
    rows.push_back(cells);
  }
  return rows;
}

// Columns: precision, path, graphs, batch, ms/batch, per second, ...
void expect_rows(const std::string& out, const std::string& path,
                 const std::vector<std::string>& batches) {
  std::vector<std::string> seen;
  for (const auto& row : table_rows(out)) {
    ASSERT_GE(row.size(), 8u) << out;
    if (row[1] != path) continue;
    EXPECT_EQ(row[0], "fp32");
    EXPECT_GT(std::atof(row[4].c_str()), 0.0) << "ms/batch: " << out;
    EXPECT_GT(std::atof(row[5].c_str()), 0.0) << "per second: " << out;
    seen.push_back(row[3]);
  }
  EXPECT_EQ(seen, batches) << out;
}

TEST(Benchmark, NetworkModeHasARowPerBatchBesideTheBaseline) {
  const RunResult r = benchmark({"--batches", "1,2"});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_TRUE(contains(r.out, "GPEN size 64")) << r.out;
  expect_rows(r.out, "reference", {"1"});
  expect_rows(r.out, "exact", {"1", "2"});
  for (const auto& row : table_rows(r.out)) {
    if (row[1] == "reference") {
      EXPECT_EQ(row[6], "1.00x");
    }
  }
}

TEST(Benchmark, AlignedAndFramesModesRun) {
  const RunResult aligned =
      benchmark({"--mode", "aligned", "--batches", "1,3", "--frames", "4", "--depth", "1,2"});
  ASSERT_EQ(aligned.status, 0) << aligned.all();
  expect_rows(aligned.out, "aligned", {"1", "3"});
  expect_rows(aligned.out, "aligned, depth 2", {"1", "3"});

  const RunResult frames = benchmark({"--mode", "frames", "--batches", "2", "--frames", "3",
                                      "--detector-model", kRetinaFace});
  ASSERT_EQ(frames.status, 0) << frames.all();
  EXPECT_TRUE(contains(frames.out, "frames/s")) << frames.out;
  expect_rows(frames.out, "frames", {"2"});

  const RunResult decoded = benchmark({"--mode", "frames", "--batches", "1", "--frames", "2",
                                       "--detector-model", kRetinaFace, "--input", kImage,
                                       "--decode-threads", "1"});
  ASSERT_EQ(decoded.status, 0) << decoded.all();
  EXPECT_TRUE(contains(decoded.out, "decoding alone:")) << decoded.out;
  expect_rows(decoded.out, "frames+decode", {"1"});
}

// gpen-enhance's whole pipeline over a folder: a row per batch size with the
// images and faces restored, and the table of where the time went.
TEST(Benchmark, PipelineModeRunsTheRealPipeline) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("gpen-benchmark-pipeline-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kImage, dir / "a.png");
  std::filesystem::copy_file(kData + "/images/solvay_1927.png", dir / "b.png");
  const RunResult r = run({GPEN_BENCHMARK, "--mode", "pipeline", "--model", kGpen, "--device",
                           "cpu", "--input", dir.string(), "--batches", "0,2", "--jobs", "1"});
  std::filesystem::remove_all(dir);
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_TRUE(contains(r.out, "# pipeline: 2 images")) << r.out;
  std::vector<std::string> batches;
  for (const auto& cells : table_rows(r.out)) {
    ASSERT_GE(cells.size(), 8u) << r.out;
    batches.push_back(cells[0]);
    EXPECT_EQ(cells[1], "2") << r.out;                       // images
    EXPECT_GE(std::atoi(cells[2].c_str()), 11) << r.out;     // faces: 1 + the crowd's
    EXPECT_GT(std::atof(cells[4].c_str()), 0.0) << r.out;    // images/s
    EXPECT_TRUE(contains(cells[7], "-bound: ")) << r.out;
  }
  EXPECT_EQ(batches, (std::vector<std::string>{"1", "2"})) << r.out;  // 0: automatic, 1 on the CPU
  EXPECT_TRUE(contains(r.out, "Where the time went")) << r.out;
  EXPECT_TRUE(contains(r.out, "paste-back")) << r.out;
  // Needs a model file and the images.
  EXPECT_EQ(run({GPEN_BENCHMARK, "--mode", "pipeline", "--input", dir.string()}).status, 2);
  EXPECT_NE(benchmark({"--batches", "0"}).status, 0);  // automatic only in pipeline mode
}

// N live streams through N elements, sharing one engine or not: a row each,
// every frame out, the faces counted.
TEST(Benchmark, StreamsModeHasARowSharedAndNot) {
  const RunResult r = run({GPEN_BENCHMARK, "--mode", "streams", "--model", kGpen, "--input",
                           kImage, "--streams", "2", "--shared", "off,on", "--frames", "6",
                           "--fps", "50", "--batches", "2", "--size", "64"});
  ASSERT_EQ(r.status, 0) << r.all();
  std::vector<std::string> shared;
  for (const auto& cells : table_rows(r.out)) {
    ASSERT_GE(cells.size(), 13u) << r.out;
    EXPECT_EQ(cells[0], "2") << r.out;
    shared.push_back(cells[1]);
    EXPECT_EQ(cells[2], "12") << r.out;  // frames out
    EXPECT_EQ(cells[3], "12") << r.out;  // faces: one a frame (aligned)
    EXPECT_GT(std::atof(cells[7].c_str()), 0.0) << r.out;  // faces per batch
  }
  EXPECT_EQ(shared, (std::vector<std::string>{"off", "on"})) << r.out;
  EXPECT_EQ(benchmark({"--streams", "2"}).status, 2);  // needs --mode streams
}

// A folder that does not exist yet is made; every row leaves a trace that
// the summary script reads.
TEST(Benchmark, ProfileWritesATracePerRowThatTheSummaryReads) {
  TempDir dir;
  const std::string folder = dir / "traces/today";
  const RunResult r = benchmark({"--batches", "1,2", "--baseline", "off", "--profile", folder});
  ASSERT_EQ(r.status, 0) << r.all();
  for (const char* name : {"fp32-exact-graphs-off-b1.json", "fp32-exact-graphs-off-b2.json"}) {
    const std::string trace = folder + "/" + name;
    ASSERT_TRUE(fs::exists(trace)) << trace << "\n" << r.all();
    EXPECT_TRUE(contains(r.out, trace)) << r.out;
    const std::string text = read_file(trace);
    ASSERT_FALSE(text.empty());
    EXPECT_TRUE(text.front() == '[' || text.front() == '{') << text.substr(0, 80);
  }
  gchar* python = g_find_program_in_path("python3");
  const bool have_python = python != nullptr;
  g_free(python);
  if (!have_python) GTEST_SKIP() << "no python3 for trace_summary.py";
  const RunResult summary =
      run({"python3", TRACE_SUMMARY, folder + "/fp32-exact-graphs-off-b1.json"});
  ASSERT_EQ(summary.status, 0) << summary.all();
  // The network's convolutions are there, and take most of the time.
  EXPECT_TRUE(contains(summary.out, "convolution")) << summary.out;
}

TEST(Benchmark, ATraceThatCannotBeWrittenIsAnError) {
  TempDir dir;
  write_file(dir / "a-file", "x");
  const RunResult no_folder = benchmark({"--batches", "1", "--profile", dir / "a-file/sub"});
  EXPECT_EQ(no_folder.status, 1) << no_folder.all();
  EXPECT_TRUE(contains(no_folder.err, "--profile: cannot make the folder")) << no_folder.err;
  EXPECT_TRUE(table_rows(no_folder.out).empty()) << "stopped before any work: " << no_folder.out;

  // Where the trace would go there is a folder: the profiler cannot write it.
  fs::create_directories(dir / "traces/fp32-exact-graphs-off-b1.json");
  const RunResult unwritable =
      benchmark({"--batches", "1", "--baseline", "off", "--profile", dir / "traces"});
  EXPECT_EQ(unwritable.status, 1) << unwritable.all();
  EXPECT_TRUE(contains(unwritable.err, "--profile: could not write the trace " + (dir / "traces") +
                                           "/fp32-exact-graphs-off-b1.json"))
      << unwritable.err;
  EXPECT_FALSE(contains(unwritable.out, "#   profile")) << unwritable.out;
}

TEST(Benchmark, UsageErrors) {
  const RunResult unknown = benchmark({"--no-such-option"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_TRUE(contains(unknown.err, "unknown option --no-such-option")) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "usage: gpen-benchmark")) << unknown.err;

  const RunResult depth_three = benchmark({"--mode", "aligned", "--depth", "3"});
  EXPECT_EQ(depth_three.status, 2);
  EXPECT_TRUE(contains(depth_three.err, "--depth takes 1 or 2")) << depth_three.err;
  const RunResult depth_network = benchmark({"--depth", "2"});
  EXPECT_EQ(depth_network.status, 2);
  EXPECT_TRUE(contains(depth_network.err, "--depth needs --mode aligned")) << depth_network.err;
  const RunResult profile_aligned = benchmark({"--mode", "aligned", "--profile", "/tmp/x"});
  EXPECT_EQ(profile_aligned.status, 2);
  EXPECT_TRUE(contains(profile_aligned.err, "--profile needs --mode network")) << profile_aligned.err;

  // Not a usage error: the message names the file, without the usage after it.
  const RunResult missing = run({GPEN_BENCHMARK, "--model", "/nonexistent/model.pth",
                                 "--device", "cpu"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_TRUE(contains(missing.err, "/nonexistent/model.pth")) << missing.err;
  EXPECT_FALSE(contains(missing.err, "usage:")) << missing.err;
}

}  // namespace
