// gpen-enhance: restores the faces in folders of photos and in videos with
// the gst-gpen plugin. See --help, and README.md.
#include <gst/gst.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "image_codec.h"
#include "image_run.h"
#include "inputs.h"
#include "locations.h"
#include "merge.h"
#include "options.h"
#include "progress.h"
#include "report.h"
#include "shard.h"
#include "video_run.h"

namespace {

using namespace gpen_tools;
namespace fs = std::filesystem;

constexpr int kExitFailures = 1;  // some inputs failed
constexpr int kExitSetup = 2;     // nothing could start: usage, plugin, models
constexpr int kExitInterrupted = 130;

std::atomic<bool> interrupted{false};

void on_signal(int) { interrupted = true; }

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void complain(const std::string& text) { std::fprintf(stderr, "gpen-enhance: %s\n", text.c_str()); }

bool is_directory(const std::string& path) {
  std::error_code error;
  return fs::is_directory(path, error);
}

// The face-parsing model of the paste mask: --parse-model, else
// ParseNet-latest.pth when it is in the model folder (and the mask is not
// --paste-mask rectangle); --paste-mask parse needs one.
bool choose_parse_model(const Options& options, const Locations& where, ModelPaths& models) {
  if (options.paste_mask == "rectangle") return true;
  if (!options.parse_model.empty()) {
    models.parse_model = resolve_model(options.parse_model, "", where);
    if (!is_file(models.parse_model)) {
      complain(missing_model_message(models.parse_model, where));
      return false;
    }
    return true;
  }
  const std::string parsenet = resolve_model("", "ParseNet-latest.pth", where);
  if (is_file(parsenet)) {
    models.parse_model = parsenet;
  } else if (options.paste_mask == "parse") {
    complain(missing_model_message(parsenet, where));
    return false;
  }
  return true;
}

// The models to load, or an explanation of what is missing.
bool choose_models(const Options& options, const Locations& where, ModelPaths& models) {
  models.model = resolve_model(options.model, "GPEN-BFR-512.pth", where);
  if (!is_file(models.model)) {
    complain(missing_model_message(models.model, where));
    return false;
  }
  if (!options.aligned && !choose_parse_model(options, where, models)) return false;
  if (options.aligned || options.detector == "cascade") return true;
  if (!options.detector_model.empty()) {
    models.detector_model = resolve_model(options.detector_model, "", where);
    if (!is_file(models.detector_model)) {
      complain(missing_model_message(models.detector_model, where));
      return false;
    }
    return true;
  }
  const std::string retinaface = resolve_model("", "RetinaFace-R50.pth", where);
  if (is_file(retinaface)) {
    models.detector_model = retinaface;
  } else if (options.detector == "retinaface") {
    complain(missing_model_message(retinaface, where));
    return false;
  } else {
    std::fprintf(stderr,
                 "gpen-enhance: note: %s is not there, so faces are found with OpenCV's cascade, "
                 "which finds fewer.\n  %s RetinaFace-R50 gets it.\n",
                 retinaface.c_str(), where.fetch_script.c_str());
  }
  return true;
}

struct Plan {
  std::vector<ImageJob> images;
  std::vector<VideoJob> videos;
  std::vector<ReportRecord> skipped;   // --skip-existing
  std::vector<InputProblem> problems;  // counted as failures
};

Plan make_plan(const Options& options, const InputList& inputs) {
  Plan plan;
  plan.problems = inputs.problems;
  // A single video may be written to OUTPUT itself when that names a video file.
  const bool output_is_video_file = inputs.items.size() == 1 &&
                                    inputs.items[0].kind == MediaKind::Video &&
                                    has_video_extension(options.output) &&
                                    !is_directory(options.output);
  std::map<std::string, std::string> claimed;  // output -> input
  auto claim = [&](const std::string& output, const std::string& input) {
    std::error_code error;
    if (fs::exists(input, error) && fs::equivalent(input, output, error)) {
      plan.problems.push_back({input, "its output would overwrite it; choose another OUTPUT"});
      return false;
    }
    auto [it, fresh] = claimed.emplace(fs::path(output).lexically_normal().string(), input);
    if (!fresh) {
      plan.problems.push_back({input, "same output as " + it->second + " (" + output + ")"});
      return false;
    }
    if (options.skip_existing && fs::exists(output, error)) {
      plan.skipped.push_back({input, Status::Skipped, 0, 0, output, ""});
      return false;
    }
    return true;
  };
  for (const auto& item : inputs.items) {
    if (item.kind == MediaKind::Image) {
      ImageOutput out = image_output_for(item.relative, options.format);
      // photo.tif beside photo.jpg: a converted image whose name is taken
      // keeps its own extension too (photo.tif.png).
      if (claimed.count((fs::path(options.output) / out.relative).lexically_normal().string()) &&
          extension_of(out.relative) != extension_of(item.relative))
        out.relative = item.relative + extension_of(out.relative);
      const std::string path = (fs::path(options.output) / out.relative).string();
      if (claim(path, item.path)) plan.images.push_back({item.path, item.path, path, out.encoder});
      continue;
    }
    const std::string wanted =
        output_is_video_file ? extension_of(options.output) : extension_of(item.path);
    const auto recipe = choose_recipe(wanted);
    if (!recipe) {
      plan.problems.push_back({item.path,
                               "no video encoder and muxer are installed to write it "
                               "(install gstreamer1.0-plugins-good and -ugly)"});
      continue;
    }
    if (recipe->extension != wanted)
      std::fprintf(stderr,
                   "gpen-enhance: note: %s cannot be written as %s here (MP4 needs an H.264 "
                   "encoder such as x264enc, in gstreamer1.0-plugins-ugly): writing %s with %s\n",
                   item.path.c_str(), wanted.empty() ? "it is" : wanted.c_str(),
                   recipe->extension.c_str(), recipe->video_encoder.c_str());
    const std::string path =
        output_is_video_file
            ? with_extension(options.output, recipe->extension)
            : (fs::path(options.output) / with_extension(item.relative, recipe->extension))
                  .string();
    if (claim(path, item.path)) plan.videos.push_back({item.path, item.path, path, *recipe});
  }
  return plan;
}

// The report's records for what planning settled: inputs that could not
// be, and those already done.
std::vector<ReportRecord> planned_records(const Plan& plan) {
  std::vector<ReportRecord> records;
  for (const auto& problem : plan.problems)
    records.push_back({problem.input, Status::Failed, 0, 0, "", problem.why});
  records.insert(records.end(), plan.skipped.begin(), plan.skipped.end());
  return records;
}

// --report, at the end of every run that got as far as a plan, interrupted
// or not: a scheduler's cancelled task leaves what it did and did not do.
void write_report(const Options& options, Report& report, double seconds) {
  if (options.report.empty()) return;
  report.sharded = !options.shard.whole();
  report.shard = options.shard;
  report.output = options.output;
  report.interrupted = interrupted;
  report.seconds = seconds;
  // Its folder too: a scheduler's tasks name theirs before any has run.
  std::error_code ignored;
  const fs::path parent = fs::path(options.report).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ignored);
  const std::string error = write_file_atomically(options.report, report_json(report));
  if (!error.empty()) complain("cannot write the report: " + error);
}

}  // namespace

int main(int argc, char** argv) {
  // The plugin path must be set before GStreamer reads its registry.
  const Locations where = find_locations();
  use_plugin_dir(where);
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const UsageError& e) {
    complain(e.what());
    return kExitSetup;
  }
  if (options.merge_reports) return merge_report_files(options.inputs, options.output);
  gst_init(nullptr, nullptr);
  if (GstElementFactory* factory = gst_element_factory_find("gpenenhance")) {
    gst_object_unref(factory);
  } else {
    complain("the gpen GStreamer plugin (libgstgpen.so) was not found in " + where.plugin_dir +
             " nor in GST_PLUGIN_PATH: build it (./setup.sh) or install it");
    return kExitSetup;
  }
  // gdkpixbufdec (gst-plugins-good) reads BMP and TIFF, but has no rank, so
  // decodebin never picks it: the lowest rank lets it stand in where no
  // other decoder does (PNG and JPEG keep their own).
  if (GstElementFactory* pixbuf = gst_element_factory_find("gdkpixbufdec")) {
    if (gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(pixbuf)) < GST_RANK_MARGINAL)
      gst_plugin_feature_set_rank(GST_PLUGIN_FEATURE(pixbuf), GST_RANK_MARGINAL);
    gst_object_unref(pixbuf);
  }
  ModelPaths models;
  if (!choose_models(options, where, models)) return kExitSetup;

  InputList inputs = collect_inputs(options.inputs, options.output);
  keep_shard(inputs, options.shard);
  const Plan plan = make_plan(options, inputs);
  for (const auto& problem : plan.problems) complain(problem.text());
  Report report;
  report.records = planned_records(plan);
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const bool terminal = isatty(fileno(stdout));
  install_signal_handlers();

  std::printf("gpen-enhance: %s%zu image%s, %zu video%s -> %s (%s%s%s)\n",
              options.shard.whole() ? "" : ("shard " + options.shard.text() + ": ").c_str(),
              plan.images.size(),
              plan.images.size() == 1 ? "" : "s", plan.videos.size(),
              plan.videos.size() == 1 ? "" : "s", options.output.c_str(),
              fs::path(models.model).filename().c_str(),
              models.detector_model.empty() ? "" : ", ",
              models.detector_model.empty() ? "" : fs::path(models.detector_model).filename().c_str());
  std::fflush(stdout);

  std::size_t failed = plan.problems.size();
  std::vector<std::string> failures;
  for (const auto& problem : plan.problems) failures.push_back(problem.text());
  std::uint64_t faces = 0;
  std::size_t restored = 0;
  std::size_t not_run = 0;
  double seconds = 0.0, image_seconds = 0.0;
  std::size_t images_restored = 0;
  std::string device;
  int batch = 0;
  gpen_tools::RunStats stats;

  if (!plan.images.empty() || !plan.skipped.empty()) {
    Progress progress(stdout, terminal, plan.images.size() + plan.skipped.size(), "images");
    for (const auto& skipped : plan.skipped) progress.skipped(skipped.input);
    ImageRunResult result;
    try {
      result = run_images(plan.images, options, models, progress, interrupted);
    } catch (const std::exception& e) {
      progress.close();
      complain(std::string("cannot start: ") + e.what());
      report.fatal = std::string("cannot start: ") + e.what();
      for (const auto& job : plan.images)
        report.records.push_back({job.input, Status::NotRun, 0, 0, job.output, ""});
      for (const auto& job : plan.videos)
        report.records.push_back({job.input, Status::NotRun, 0, 0, job.output, ""});
      write_report(options, report, elapsed());
      return kExitSetup;
    }
    for (std::size_t i = 0; i < plan.images.size(); ++i) {
      const ImageJob& job = plan.images[i];
      const ImageOutcome outcome = i < result.outcomes.size() ? result.outcomes[i] : ImageOutcome{};
      const Status status = !outcome.settled        ? Status::NotRun
                            : outcome.error.empty() ? Status::Restored
                                                    : Status::Failed;
      report.records.push_back(
          {job.input, status, outcome.faces, outcome.seconds, job.output, outcome.error});
    }
    progress.close();
    const RunTotals totals = progress.totals();
    restored += totals.done;
    images_restored = totals.done;
    faces += totals.faces;
    failed += totals.failed;
    failures.insert(failures.end(), totals.failures.begin(), totals.failures.end());
    not_run += result.not_run;
    image_seconds = progress.seconds();
    seconds += image_seconds;
    device = result.device;
    batch = result.batch_size;
    stats = result.stats;
    stats.wall = image_seconds;
    stats.images = totals.done;
    if (!result.fatal.empty()) {
      report.fatal = result.fatal;
      complain("the enhancer failed: " + result.fatal);
      failures.push_back("(enhancer) " + result.fatal);
      ++failed;
    }
  }

  std::vector<std::string> video_lines;
  for (const auto& job : plan.videos) {
    if (interrupted) {
      ++not_run;
      report.records.push_back({job.input, Status::NotRun, 0, 0, job.output, ""});
      continue;
    }
    Progress progress(stdout, terminal, 0, "frames", job.name);
    const std::string error = run_video(job, options, models, progress, interrupted);
    progress.close();
    const RunTotals totals = progress.totals();
    seconds += progress.seconds();
    faces += totals.faces;
    report.records.push_back({job.input, error.empty() ? Status::Restored : Status::Failed,
                              totals.faces, progress.seconds(), job.output, error});
    if (!error.empty()) {
      ++failed;
      failures.push_back(job.name + ": " + error);
      complain(job.name + ": FAILED: " + error);
      continue;
    }
    char line[512];
    std::snprintf(line, sizeof line, "  %s: %zu frames, %llu faces, %.1f frames/s -> %s",
                  job.name.c_str(), totals.done, static_cast<unsigned long long>(totals.faces),
                  totals.done / std::max(progress.seconds(), 1e-9), job.output.c_str());
    video_lines.emplace_back(line);
    ++restored;
  }

  // The summary.
  std::printf("%s in %s: %zu restored, %llu faces, %zu failed, %zu skipped (already done)",
              interrupted ? "Interrupted" : "Done", format_duration(seconds).c_str(), restored,
              static_cast<unsigned long long>(faces), failed, plan.skipped.size());
  if (images_restored && image_seconds > 0)
    std::printf(", %.2f images/s", images_restored / image_seconds);
  if (!device.empty()) std::printf(" (GPEN on %s, batch %d)", device.c_str(), batch);
  std::printf("\n");
  if (images_restored) {
    const std::string bound = gpen_tools::bound_by(stats);
    if (!bound.empty()) std::printf("  %s\n", bound.c_str());
    if (options.stats) std::printf("%s", gpen_tools::stats_table(stats).c_str());
  }
  for (const auto& line : video_lines) std::printf("%s\n", line.c_str());
  if (not_run) std::printf("  %zu not processed\n", not_run);
  std::fflush(stdout);
  if (!failures.empty()) {
    std::fprintf(stderr, "Failed:\n");
    for (const auto& failure : failures) std::fprintf(stderr, "  %s\n", failure.c_str());
  }
  write_report(options, report, elapsed());
  if (interrupted) return kExitInterrupted;
  return failed || not_run ? kExitFailures : 0;
}
