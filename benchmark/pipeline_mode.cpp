#include "pipeline_mode.h"

#include <gst/gst.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "image_run.h"
#include "inputs.h"
#include "options.h"
#include "progress.h"
#include "run_stats.h"

namespace fs = std::filesystem;

int run_pipeline_mode(const PipelineBench& bench) {
  if (bench.model.empty()) throw std::invalid_argument("--mode pipeline needs --model FILE");
  if (bench.inputs.empty()) throw std::invalid_argument("--mode pipeline needs --input DIR");
  // The plugin of this build tree, unless GST_PLUGIN_PATH already names one.
  const char* path = g_getenv("GST_PLUGIN_PATH");
  const std::string plugins = std::string(GPEN_BENCH_PLUGIN_DIR) +
                              (path && *path ? G_SEARCHPATH_SEPARATOR_S + std::string(path) : "");
  g_setenv("GST_PLUGIN_PATH", plugins.c_str(), TRUE);
  gst_init(nullptr, nullptr);

  const fs::path out = fs::temp_directory_path() / ("gpen-benchmark-" + std::to_string(::getpid()));
  const gpen_tools::InputList listed = gpen_tools::collect_inputs(bench.inputs, out.string());
  std::vector<gpen_tools::ImageJob> jobs;
  for (const auto& item : listed.items) {
    if (item.kind != gpen_tools::MediaKind::Image) continue;
    const std::string relative = gpen_tools::with_extension(item.relative, ".jpg");
    jobs.push_back({item.path, item.path, (out / relative).string(), gpen_tools::ImageEncoder::Jpeg});
  }
  if (jobs.empty()) throw std::invalid_argument("--input has no images");

  std::printf("# pipeline: %zu images from %s, decoded, restored and written as JPEG (quality 95) "
              "by gpen-enhance's pipeline; %s\n",
              jobs.size(), bench.inputs.front().c_str(), bench.model.c_str());
  std::printf("| batch | images | faces | wall s | images/s | faces/s | device | bound by |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---|---|\n");
  std::vector<std::string> tables;
  int status = 0;
  const std::vector<int> batches = bench.batches.empty() ? std::vector<int>{0} : bench.batches;
  for (const int batch : batches) {
    gpen_tools::Options o;
    o.device = bench.device;
    o.precision = bench.precision;
    o.batch_size = batch;
    o.jobs = bench.jobs;
    o.format = gpen_tools::OutputFormat::Jpeg;
    if (!bench.detector_model.empty()) o.detector = "retinaface";
    const gpen_tools::ModelPaths models{bench.model, bench.detector_model, std::string()};
    std::FILE* quiet = std::fopen("/dev/null", "w");
    gpen_tools::Progress progress(quiet, false, jobs.size(), "images");
    const std::atomic<bool> interrupted{false};
    const gpen_tools::ImageRunResult result =
        gpen_tools::run_images(jobs, o, models, progress, interrupted);
    progress.close();
    std::fclose(quiet);
    const auto totals = progress.totals();
    gpen_tools::RunStats stats = result.stats;
    stats.wall = progress.seconds();
    stats.images = totals.done;
    if (totals.failed > 0 || !result.fatal.empty()) status = 1;
    std::printf("| %d | %zu | %zu | %.2f | %.2f | %.1f | %s | %s |\n", result.batch_size,
                totals.done, stats.faces, stats.wall, totals.done / std::max(stats.wall, 1e-9),
                stats.faces / std::max(stats.wall, 1e-9), result.device.c_str(),
                gpen_tools::bound_by(stats).c_str());
    tables.push_back("# batch " + std::to_string(result.batch_size) + "\n" +
                     gpen_tools::stats_table(stats));
    std::error_code ignored;
    fs::remove_all(out, ignored);
  }
  for (const auto& table : tables) std::printf("\n%s", table.c_str());
  return status;
}
