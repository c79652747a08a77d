#include "options.h"

#include <gst/gst.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "gst_ptr.h"

namespace gpen_tools {

namespace {

constexpr const char* kSummary =
    "Restores the faces in photos and videos with GPEN, through the gst-gpen plugin.\n"
    "\n"
    "INPUT is image files, folders (searched recursively for jpg, jpeg, png, webp, bmp,\n"
    "tif and tiff files) or video files. Images keep their names and folder tree under\n"
    "OUTPUT; a video is written with its audio to OUTPUT/NAME (or to OUTPUT itself when\n"
    "it is a single video and OUTPUT ends in .mkv, .mp4, .webm or .mov).\n"
    "\n"
    "Models are looked up in $GPEN_MODEL_DIR, else in the models/ folder of the build\n"
    "tree or of the installation: GPEN-BFR-512.pth by default, and RetinaFace-R50.pth to\n"
    "find faces when it is there (else OpenCV's cascade). models/fetch-models.sh gets them.";

std::string text_or(gchar* value, const std::string& fallback) {
  GCharPtr owned(value);
  return owned ? std::string(owned.get()) : fallback;
}

void check_range(double value, double low, double high, const char* name) {
  if (!(value >= low && value <= high))
    throw UsageError(std::string("--") + name + " must be between " + std::to_string(low) +
                     " and " + std::to_string(high));
}

bool one_of(const std::string& value, std::initializer_list<const char*> choices) {
  for (const char* choice : choices)
    if (value == choice) return true;
  return false;
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  gchar* output = nullptr;
  gchar* model = nullptr;
  gchar* detector_model = nullptr;
  gchar* detector = nullptr;
  gchar* parse_model = nullptr;
  gchar* paste_mask = nullptr;
  gchar* device = nullptr;
  gchar* precision = nullptr;
  gchar* format = nullptr;
  gchar* shard = nullptr;
  gchar* report = nullptr;
  gchar** inputs = nullptr;
  gboolean colorize = FALSE, no_tracking = FALSE;
  gboolean aligned = FALSE, skip_existing = FALSE, merge_reports = FALSE, stats = FALSE;
  gint batch_size = 0, max_faces = 0, max_size = 0, quality = o.quality, jobs = 0;
  gdouble strength = o.strength, denoise = 0.0, sharpen = 0.0, smoothing = o.smoothing;
  gint detection_interval = o.detection_interval;

  GOptionEntry entries[] = {
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Folder (or video file) to write to (required)", "OUTPUT"},
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "GPEN model: a path or a file in the model folder (default GPEN-BFR-512.pth)", "FILE"},
      {"detector-model", 0, 0, G_OPTION_ARG_FILENAME, &detector_model, "RetinaFace model (default RetinaFace-R50.pth when it is in the model folder)", "FILE"},
      {"detector", 0, 0, G_OPTION_ARG_STRING, &detector, "Face detector: auto, retinaface or cascade (default auto)", "NAME"},
      {"parse-model", 0, 0, G_OPTION_ARG_FILENAME, &parse_model, "ParseNet face-parsing model for the paste mask (default ParseNet-latest.pth when it is in the model folder)", "FILE"},
      {"paste-mask", 0, 0, G_OPTION_ARG_STRING, &paste_mask, "Mask faces are pasted back with: auto (parse with a parsing model, else rectangle), parse or rectangle (default auto)", "NAME"},
      {"aligned", 0, 0, G_OPTION_ARG_NONE, &aligned, "Every image is one aligned face (FFHQ layout): no detection", nullptr},
      {"colorize", 0, 0, G_OPTION_ARG_NONE, &colorize, "Colorize aligned gray faces (a GPEN-Colorization model; implies --aligned)", nullptr},
      {"batch-size", 'b', 0, G_OPTION_ARG_INT, &batch_size, "Faces per network run, 1-64 (default 0: automatic)", "N"},
      {"device", 'd', 0, G_OPTION_ARG_STRING, &device, "auto, cpu, cuda or cuda:N (default auto)", "DEVICE"},
      {"precision", 0, 0, G_OPTION_ARG_STRING, &precision, "auto, fp32, fp16 or bf16 (default auto)", "P"},
      {"strength", 0, 0, G_OPTION_ARG_DOUBLE, &strength, "Blend of restored and original faces, 0-1 (default 1)", "S"},
      {"denoise", 0, 0, G_OPTION_ARG_DOUBLE, &denoise, "Denoise faces before restoring them, 0-1 (default 0)", "S"},
      {"sharpen", 0, 0, G_OPTION_ARG_DOUBLE, &sharpen, "Sharpen restored faces, 0-1 (default 0)", "S"},
      {"max-faces", 0, 0, G_OPTION_ARG_INT, &max_faces, "Restore at most N faces per image, largest first (default 0: all)", "N"},
      {"no-tracking", 0, 0, G_OPTION_ARG_NONE, &no_tracking, "Videos: find the faces of every frame on their own (no tracking, smoothing or detection interval)", nullptr},
      {"smoothing", 0, 0, G_OPTION_ARG_DOUBLE, &smoothing, "Videos: how strongly each tracked face's alignment is smoothed over time, 0-1 (default 0.6; 0: off)", "S"},
      {"detection-interval", 0, 0, G_OPTION_ARG_INT, &detection_interval, "Videos: search every N-th frame for faces, track them in between (default 1: every frame)", "N"},
      {"max-size", 0, 0, G_OPTION_ARG_INT, &max_size, "Downscale inputs whose long side is over N px (default 0: never)", "N"},
      {"format", 'f', 0, G_OPTION_ARG_STRING, &format, "Images: same, jpg or png (default same)", "FMT"},
      {"quality", 'q', 0, G_OPTION_ARG_INT, &quality, "JPEG/WebP quality, 1-100 (default 95)", "Q"},
      {"skip-existing", 0, 0, G_OPTION_ARG_NONE, &skip_existing, "Skip inputs whose output is already there (resume a run)", nullptr},
      {"jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "Images decoded and encoded at once (default: the CPU count, at most 8)", "N"},
      {"stats", 0, 0, G_OPTION_ARG_NONE, &stats, "Print where the time went: busy time per stage (decode, conversion, detection, network, paste-back, encode, ...)", nullptr},
      {"shard", 0, 0, G_OPTION_ARG_STRING, &shard, "Do only shard K of N, K counted from 0 (0/4 to 3/4): inputs split by a hash of their path", "K/N"},
      {"report", 0, 0, G_OPTION_ARG_FILENAME, &report, "Write what became of each input to FILE.json (also when interrupted)", "FILE"},
      {"merge-reports", 0, 0, G_OPTION_ARG_NONE, &merge_reports, "INPUTs are --report files of shards: sum them up (-o FILE.json to write it)", nullptr},
      {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &inputs, nullptr, "INPUT..."},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
  };

  std::unique_ptr<GOptionContext, decltype(&g_option_context_free)> context(
      g_option_context_new("-o OUTPUT"), &g_option_context_free);
  g_option_context_set_summary(context.get(), kSummary);
  g_option_context_add_main_entries(context.get(), entries, nullptr);
  GError* raw_error = nullptr;
  const bool parsed = g_option_context_parse(context.get(), &argc, &argv, &raw_error);
  GErrorPtr error(raw_error);

  o.output = text_or(output, "");
  o.model = text_or(model, "");
  o.detector_model = text_or(detector_model, "");
  o.detector = text_or(detector, o.detector);
  o.parse_model = text_or(parse_model, "");
  o.paste_mask = text_or(paste_mask, o.paste_mask);
  o.device = text_or(device, o.device);
  o.precision = text_or(precision, o.precision);
  const std::string format_name = text_or(format, "same");
  const std::string shard_text = text_or(shard, "");
  o.report = text_or(report, "");
  if (inputs) {
    for (gchar** input = inputs; *input; ++input) o.inputs.emplace_back(*input);
    g_strfreev(inputs);
  }
  if (!parsed) throw UsageError(error ? error->message : "cannot parse the command line");

  o.colorize = colorize;
  o.aligned = aligned || colorize;
  o.skip_existing = skip_existing;
  o.stats = stats;
  o.merge_reports = merge_reports;
  o.batch_size = batch_size;
  o.max_faces = max_faces;
  o.max_size = max_size;
  o.quality = quality;
  o.jobs = jobs;
  o.strength = strength;
  o.denoise = denoise;
  o.sharpen = sharpen;
  o.tracking = !no_tracking;
  o.smoothing = smoothing;
  o.detection_interval = detection_interval;

  if (o.merge_reports) {
    // The others would be silently meaningless here.
    if (!shard_text.empty() || !o.report.empty())
      throw UsageError("--merge-reports takes report files and -o, not --shard or --report");
    if (o.inputs.empty()) throw UsageError("--merge-reports: no report files given");
    return o;
  }
  if (!shard_text.empty()) {
    try {
      o.shard = parse_shard(shard_text);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
  }
  if (o.inputs.empty()) throw UsageError("no INPUT given (see --help)");
  if (o.output.empty()) throw UsageError("no output given: add -o OUTPUT (see --help)");
  if (o.batch_size < 0 || o.batch_size > 64) throw UsageError("--batch-size must be 0 (automatic) to 64");
  if (o.max_faces < 0) throw UsageError("--max-faces must be 0 (all) or more");
  if (o.max_size < 0) throw UsageError("--max-size must be 0 (never) or more");
  if (o.max_size > 0 && o.max_size < 16) throw UsageError("--max-size must be at least 16 px");
  if (o.quality < 1 || o.quality > 100) throw UsageError("--quality must be 1 to 100");
  if (o.jobs < 0) throw UsageError("--jobs must be 0 (automatic) or more");
  check_range(o.strength, 0.0, 1.0, "strength");
  check_range(o.denoise, 0.0, 1.0, "denoise");
  check_range(o.sharpen, 0.0, 1.0, "sharpen");
  check_range(o.smoothing, 0.0, 1.0, "smoothing");
  if (o.detection_interval < 1 || o.detection_interval > 1000)
    throw UsageError("--detection-interval must be 1 (every frame) to 1000");
  if (!one_of(o.paste_mask, {"auto", "parse", "rectangle"}))
    throw UsageError("--paste-mask must be auto, parse or rectangle");
  if (!one_of(o.detector, {"auto", "retinaface", "cascade"}))
    throw UsageError("--detector must be auto, retinaface or cascade");
  if (!one_of(o.precision, {"auto", "fp32", "fp16", "bf16"}))
    throw UsageError("--precision must be auto, fp32, fp16 or bf16");
  if (format_name == "same") o.format = OutputFormat::Same;
  else if (format_name == "jpg" || format_name == "jpeg") o.format = OutputFormat::Jpeg;
  else if (format_name == "png") o.format = OutputFormat::Png;
  else throw UsageError("--format must be same, jpg or png");
  return o;
}

}  // namespace gpen_tools
