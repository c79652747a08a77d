// gpen-enhance as a user runs it: on a folder of the test images with the
// gpen-64 fixture, on the CPU, with the cascade detector.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "opencv_codecs.h"
#include "tool_runner.h"

namespace {

using namespace gpen_test;

const std::string kData = GPEN_TEST_DATA_DIR;
const std::string kModel = kData + "/gpen-64/gpen-64.pth";
const std::string kAstronaut = kData + "/images/astronaut.png";
const std::string kSolvay = kData + "/images/solvay_1927.png";

class GpenEnhanceCli : public ::testing::Test {
 protected:
  // Runs gpen-enhance with the fixture model on the CPU; no model folder, so
  // the cascade finds the faces. Its stdout is a pipe: the log-line mode.
  RunResult enhance(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {GPEN_ENHANCE, "--model", kModel, "--device", "cpu"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {{"GPEN_MODEL_DIR", dir / "no-models"}});
  }
  // Without --model: the default, from the (empty) model folder.
  RunResult enhance_default_model(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {GPEN_ENHANCE};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {{"GPEN_MODEL_DIR", dir / "no-models"}});
  }

  TempDir dir;
};

cv::Size size_of(const std::string& path) {
  const cv::Mat image = cv::imread(path, cv::IMREAD_UNCHANGED);
  return image.empty() ? cv::Size() : image.size();
}

double mean_abs_difference(const std::string& a, const std::string& b) {
  const cv::Mat x = cv::imread(a, cv::IMREAD_COLOR), y = cv::imread(b, cv::IMREAD_COLOR);
  if (x.empty() || x.size() != y.size()) return -1;
  cv::Mat difference;
  cv::absdiff(x, y, difference);
  return cv::mean(cv::mean(difference))[0];
}

TEST_F(GpenEnhanceCli, FolderKeepsNamesTreeAndSizes) {
  copy_into(kAstronaut, dir / "in/astronaut.png");
  copy_into(kSolvay, dir / "in/1927/solvay_1927.png");
  const RunResult r = enhance({dir / "in", "-o", dir / "out"});
  ASSERT_EQ(r.status, 0) << r.all();
  // Not a terminal: one progress line per image, then the summary.
  EXPECT_TRUE(contains(r.out, "[1/2 images")) << r.out;
  EXPECT_TRUE(contains(r.out, "[2/2 images")) << r.out;
  EXPECT_TRUE(contains(r.out, "astronaut.png: 1 face")) << r.out;
  EXPECT_TRUE(contains(r.out, "Done in ")) << r.out;
  EXPECT_TRUE(contains(r.out, "2 restored")) << r.out;
  EXPECT_TRUE(contains(r.err, "cascade")) << "says which detector it falls back to: " << r.err;

  EXPECT_EQ(size_of(dir / "out/astronaut.png"), cv::Size(512, 512));
  EXPECT_EQ(size_of(dir / "out/1927/solvay_1927.png"), cv::Size(1328, 568));
  // The faces were restored (the fixture model changes them), and only them:
  // the picture is still the same picture.
  const double changed = mean_abs_difference(kAstronaut, dir / "out/astronaut.png");
  EXPECT_GT(changed, 0.05);
  EXPECT_LT(changed, 20.0);
  EXPECT_FALSE(fs::exists(dir / "out/astronaut.png.part"));
}

TEST_F(GpenEnhanceCli, CorruptImageIsReportedAndSkipped) {
  copy_into(kAstronaut, dir / "in/a.png");
  write_file(dir / "in/broken.jpg", corrupt_bytes());
  copy_into(kAstronaut, dir / "in/z.png");
  const RunResult r = enhance({dir / "in", "-o", dir / "out"});
  EXPECT_EQ(r.status, 1) << r.all();
  EXPECT_TRUE(contains(r.out, "broken.jpg: FAILED")) << r.out;
  EXPECT_TRUE(contains(r.err, "broken.jpg")) << "listed among the failures: " << r.err;
  EXPECT_TRUE(contains(r.out, "1 failed")) << r.out;
  // The others still ran.
  EXPECT_EQ(size_of(dir / "out/a.png"), cv::Size(512, 512));
  EXPECT_EQ(size_of(dir / "out/z.png"), cv::Size(512, 512));
  EXPECT_FALSE(fs::exists(dir / "out/broken.jpg"));
  EXPECT_FALSE(fs::exists(dir / "out/broken.png"));
}

TEST_F(GpenEnhanceCli, SkipExistingLeavesFinishedOutputsAlone) {
  copy_into(kAstronaut, dir / "in/done.png");
  copy_into(kAstronaut, dir / "in/todo.png");
  write_file(dir / "out/done.png", "an earlier run's result");
  const RunResult r = enhance({dir / "in", "-o", dir / "out", "--skip-existing"});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_EQ(read_file(dir / "out/done.png"), "an earlier run's result");
  EXPECT_TRUE(contains(r.out, "done.png: skipped")) << r.out;
  EXPECT_TRUE(contains(r.out, "1 skipped")) << r.out;
  EXPECT_EQ(size_of(dir / "out/todo.png"), cv::Size(512, 512));

  // Without the option, it is done again.
  const RunResult again = enhance({dir / "in/done.png", "-o", dir / "out"});
  ASSERT_EQ(again.status, 0) << again.all();
  EXPECT_EQ(size_of(dir / "out/done.png"), cv::Size(512, 512));
}

TEST_F(GpenEnhanceCli, AlignedFacesMatchTheReference) {
  // Aligned mode through decode, the element and PNG encoding: within one
  // level of the reference implementation's outputs.
  copy_into(kData + "/gpen-64/gpen-64_in0.png", dir / "in/gpen-64_in0.png");
  copy_into(kData + "/gpen-64/gpen-64_in1.png", dir / "in/gpen-64_in1.png");
  const RunResult r = enhance({dir / "in", "-o", dir / "out", "--aligned", "--batch-size", "2"});
  ASSERT_EQ(r.status, 0) << r.all();
  for (int i = 0; i < 2; ++i) {
    const cv::Mat out = cv::imread(dir / ("out/gpen-64_in" + std::to_string(i) + ".png"));
    const cv::Mat reference =
        cv::imread(kData + "/gpen-64/gpen-64_out" + std::to_string(i) + ".png");
    ASSERT_FALSE(out.empty());
    ASSERT_EQ(out.size(), reference.size());
    cv::Mat difference;
    cv::absdiff(out, reference, difference);
    double worst = 0;
    cv::minMaxLoc(difference.reshape(1), nullptr, &worst);
    EXPECT_LE(worst, 1.0) << "image " << i;
  }
}

TEST_F(GpenEnhanceCli, FormatAndMaxSize) {
  if (!opencv_has_codec(".jpg")) GTEST_SKIP() << "this OpenCV cannot read the JPEG back";
  copy_into(kSolvay, dir / "in/solvay.png");
  const RunResult r = enhance({dir / "in/solvay.png", "-o", dir / "out", "--format", "jpg",
                               "--quality", "90", "--max-size", "664"});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_EQ(size_of(dir / "out/solvay.jpg"), cv::Size(664, 284));
  EXPECT_EQ(read_file(dir / "out/solvay.jpg").substr(0, 2), "\xFF\xD8");  // a JPEG
}

TEST_F(GpenEnhanceCli, BmpAndTiffBecomePngBesideTheJpeg) {
  for (const char* extension : {".bmp", ".tif", ".jpg"})
    if (!opencv_has_codec(extension)) GTEST_SKIP() << "this OpenCV cannot write " << extension;
  const cv::Mat astronaut = cv::imread(kAstronaut);
  fs::create_directories(dir / "in");
  ASSERT_TRUE(cv::imwrite(dir / "in/photo.bmp", astronaut));
  ASSERT_TRUE(cv::imwrite(dir / "in/photo.tif", astronaut));
  ASSERT_TRUE(cv::imwrite(dir / "in/photo.jpg", astronaut));
  const RunResult r = enhance({dir / "in", "-o", dir / "out"});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_EQ(read_file(dir / "out/photo.jpg").substr(0, 2), "\xFF\xD8");
  // GStreamer has no BMP or TIFF encoder here: PNG, which loses nothing;
  // the second one to want photo.png keeps its extension in the name.
  EXPECT_EQ(read_file(dir / "out/photo.png").substr(1, 3), "PNG");
  EXPECT_EQ(read_file(dir / "out/photo.tif.png").substr(1, 3), "PNG");
  EXPECT_EQ(size_of(dir / "out/photo.tif.png"), cv::Size(512, 512));
}

TEST_F(GpenEnhanceCli, VideoKeepsItsFramesAndAudio) {
  ASSERT_TRUE(make_test_video(kAstronaut, dir / "clip.mkv", 12));
  const RunResult r = enhance({dir / "clip.mkv", "-o", dir / "out"});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_TRUE(contains(r.out, "clip.mkv: 12 frames, 12 faces")) << r.out;
  const MediaSummary in = probe_media(dir / "clip.mkv");
  const MediaSummary out = probe_media(dir / "out/clip.mkv");
  ASSERT_TRUE(out.error.empty()) << out.error;
  EXPECT_EQ(out.video_frames, in.video_frames);
  EXPECT_EQ(out.width, 256);
  EXPECT_EQ(out.height, 256);
  ASSERT_TRUE(out.has_audio);
  EXPECT_EQ(out.audio_duration, in.audio_duration);  // passed through, not re-encoded
}

TEST_F(GpenEnhanceCli, VideoTrackingFlags) {
  ASSERT_TRUE(make_test_video(kAstronaut, dir / "clip.mkv", 12));
  // Searched every third frame, tracked between: every frame keeps its face.
  const RunResult interval =
      enhance({dir / "clip.mkv", "-o", dir / "a", "--detection-interval", "3", "--smoothing", "0.3"});
  ASSERT_EQ(interval.status, 0) << interval.all();
  EXPECT_TRUE(contains(interval.out, "clip.mkv: 12 frames, 12 faces")) << interval.out;
  const RunResult untracked = enhance({dir / "clip.mkv", "-o", dir / "b", "--no-tracking"});
  ASSERT_EQ(untracked.status, 0) << untracked.all();
  EXPECT_TRUE(contains(untracked.out, "clip.mkv: 12 frames, 12 faces")) << untracked.out;
  EXPECT_EQ(enhance({"a.mkv", "-o", "o", "--detection-interval", "0"}).status, 2);
  EXPECT_EQ(enhance({"a.mkv", "-o", "o", "--smoothing", "1.5"}).status, 2);
}

TEST_F(GpenEnhanceCli, MissingModelSaysWhatToGet) {
  copy_into(kAstronaut, dir / "in/a.png");
  const RunResult r = enhance_default_model({dir / "in", "-o", dir / "out"});  // none there
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_TRUE(contains(r.err, "GPEN-BFR-512.pth")) << r.err;
  EXPECT_TRUE(contains(r.err, "https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models/GPEN-BFR-512.pth")) << r.err;
  EXPECT_TRUE(contains(r.err, "fetch-models.sh")) << r.err;
  EXPECT_TRUE(contains(r.err, "non-commercial")) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out/a.png"));

  const RunResult detector = enhance({dir / "in", "-o", dir / "out", "--detector", "retinaface"});
  EXPECT_EQ(detector.status, 2) << detector.all();
  EXPECT_TRUE(contains(detector.err, "RetinaFace-R50.pth")) << detector.err;
}

TEST_F(GpenEnhanceCli, ModelThatDoesNotLoadStopsBeforeAnyWork) {
  copy_into(kAstronaut, dir / "in/a.png");
  write_file(dir / "bad.pth", corrupt_bytes());
  const RunResult r = enhance({dir / "in", "-o", dir / "out", "--model", dir / "bad.pth"});
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_TRUE(contains(r.err, "bad.pth")) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out/a.png"));
}

// --paste-mask parse with --parse-model (the fixture ParseNet): another
// mask than the rectangle's, so other pixels; parse without a parsing model
// in the model folder says what to get; a bad one stops before any work.
TEST_F(GpenEnhanceCli, PasteMaskParse) {
  copy_into(kAstronaut, dir / "in/a.png");
  const std::string parsenet = kData + "/parsenet-128/parsenet-128.pth";
  const RunResult rectangle = enhance({dir / "in", "-o", dir / "rect", "--paste-mask", "rectangle"});
  ASSERT_EQ(rectangle.status, 0) << rectangle.all();
  const RunResult parsed =
      enhance({dir / "in", "-o", dir / "parse", "--paste-mask", "parse", "--parse-model", parsenet});
  ASSERT_EQ(parsed.status, 0) << parsed.all();
  EXPECT_GT(mean_abs_difference(dir / "rect/a.png", dir / "parse/a.png"), 0.0);
  const RunResult automatic = enhance({dir / "in", "-o", dir / "auto", "--parse-model", parsenet});
  ASSERT_EQ(automatic.status, 0) << automatic.all();
  EXPECT_EQ(mean_abs_difference(dir / "parse/a.png", dir / "auto/a.png"), 0.0);

  const RunResult missing = enhance({dir / "in", "-o", dir / "out", "--paste-mask", "parse"});
  EXPECT_EQ(missing.status, 2) << missing.all();
  EXPECT_TRUE(contains(missing.err, "ParseNet-latest.pth")) << missing.err;
  EXPECT_TRUE(contains(missing.err, "fetch-models.sh")) << missing.err;
  const RunResult wrong = enhance({dir / "in", "-o", dir / "out", "--parse-model", kModel});
  EXPECT_EQ(wrong.status, 2) << wrong.all();
  EXPECT_TRUE(contains(wrong.err, "gpen-64.pth")) << wrong.err;
  EXPECT_FALSE(fs::exists(dir / "out/a.png"));
  const RunResult usage = enhance({dir / "in", "-o", dir / "out", "--paste-mask", "oval"});
  EXPECT_EQ(usage.status, 2) << usage.all();
  EXPECT_TRUE(contains(usage.err, "--paste-mask")) << usage.err;
}

// --colorize: aligned gray faces through task=colorize, as the reference's
// face_colorization.py (colorize-64 fixture, gpen-64 weights).
TEST_F(GpenEnhanceCli, ColorizeAlignedGrayFaces) {
  const std::string fixtures = kData + "/colorize-64/";
  copy_into(fixtures + "colorize-64_in0.png", dir / "in/gray.png");
  const RunResult r = enhance({dir / "in", "-o", dir / "out", "--colorize"});
  ASSERT_EQ(r.status, 0) << r.all();
  const cv::Mat out = cv::imread(dir / "out/gray.png", cv::IMREAD_COLOR);
  const cv::Mat expected = cv::imread(fixtures + "colorize-64_out0.png", cv::IMREAD_COLOR);
  ASSERT_EQ(out.size(), expected.size());
  cv::Mat difference;
  cv::absdiff(out, expected, difference);
  double high = 0;
  cv::minMaxLoc(difference.reshape(1), nullptr, &high);
  EXPECT_LE(high, 1.0);
}

// Installed, it finds the plugin and the models beside itself, wherever the
// installation was put: a copy laid out as `meson install` does.
TEST_F(GpenEnhanceCli, InstalledCopyFindsItsPluginAndModels) {
  const fs::path prefix = dir.path() / "prefix";
  const fs::path exe = prefix / RELATIVE_BINDIR / "gpen-enhance";
  copy_into(GPEN_ENHANCE, exe.string());
  fs::permissions(exe, fs::perms::owner_exec, fs::perm_options::add);
  copy_into(GPEN_PLUGIN, (prefix / RELATIVE_PLUGINDIR / fs::path(GPEN_PLUGIN).filename()).string());
  // The fixture under the default model's name, in the installed model folder.
  copy_into(kModel, (prefix / RELATIVE_MODELDIR / "GPEN-BFR-512.pth").string());
  copy_into(kAstronaut, dir / "in/a.png");
  const RunResult r = run({exe.string(), dir / "in", "-o", dir / "out", "--device", "cpu"},
                          {{"GPEN_MODEL_DIR", ""}, {"GST_PLUGIN_PATH", ""}});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_EQ(size_of(dir / "out/a.png"), cv::Size(512, 512));
  EXPECT_TRUE(contains(r.out, "GPEN-BFR-512.pth")) << r.out;
}

// --shard K/N over two runs does every image once; their --report files
// merge into a complete summary; a re-run with --skip-existing skips all.
TEST_F(GpenEnhanceCli, ShardsReportAndMerge) {
  for (const char* name : {"a.png", "b.png", "c/d.png", "c/e.png", "f.png"})
    copy_into(kAstronaut, dir / (std::string("in/") + name));
  std::size_t restored = 0;
  for (const char* shard : {"0/2", "1/2"}) {
    const std::string report = dir / (std::string("reports/") + shard[0] + ".json");
    const RunResult r = enhance({dir / "in", "-o", dir / "out", "--shard", shard, "--report", report});
    ASSERT_EQ(r.status, 0) << r.all();
    EXPECT_TRUE(contains(r.out, std::string("shard ") + shard + ": ")) << r.out;
    const std::string text = read_file(report);
    EXPECT_TRUE(contains(text, "\"format\": \"gpen-enhance-report/1\"")) << text;
    for (std::size_t at = 0; (at = text.find("\"status\": \"restored\"", at)) != std::string::npos; ++at)
      ++restored;
  }
  EXPECT_EQ(restored, 5u);
  for (const char* name : {"a.png", "b.png", "c/d.png", "c/e.png", "f.png"})
    EXPECT_EQ(size_of(dir / (std::string("out/") + name)), cv::Size(512, 512)) << name;

  const RunResult merged = enhance({"--merge-reports", dir / "reports/0.json",
                                    dir / "reports/1.json", "-o", dir / "all.json"});
  ASSERT_EQ(merged.status, 0) << merged.all();
  EXPECT_TRUE(contains(merged.out, "2 reports, 5 inputs: 5 restored")) << merged.out;
  EXPECT_TRUE(contains(merged.out, "complete")) << merged.out;
  EXPECT_TRUE(contains(read_file(dir / "all.json"), "\"complete\": true"));

  // Re-submitted, shard 1 finds its work done; a missing shard is incomplete.
  const RunResult again = enhance({dir / "in", "-o", dir / "out", "--shard", "1/2",
                                   "--skip-existing", "--report", dir / "reports/1-again.json"});
  ASSERT_EQ(again.status, 0) << again.all();
  EXPECT_TRUE(contains(again.out, " 0 restored")) << again.out;
  EXPECT_FALSE(contains(read_file(dir / "reports/1-again.json"), "\"status\": \"restored\""));
  const RunResult partial = enhance({"--merge-reports", dir / "reports/1.json"});
  EXPECT_EQ(partial.status, 1) << partial.all();
  EXPECT_TRUE(contains(partial.out, "missing shards: 0/2")) << partial.out;
  // Not a report: nothing is merged over it.
  write_file(dir / "reports/bad.json", "{\"format\": \"gpen-enhance-report/1\"");
  EXPECT_EQ(enhance({"--merge-reports", dir / "reports/bad.json"}).status, 2);
}

// Interrupted (SIGINT here; a scheduler's SIGTERM takes the same path), it
// still writes its report: what it restored, and what it did not run. The
// test hook slows each image so that the signal lands midway.
TEST_F(GpenEnhanceCli, InterruptedRunStillWritesItsReport) {
  for (int i = 0; i < 5; ++i) copy_into(kAstronaut, dir / ("in/" + std::to_string(i) + ".png"));
  const RunResult r = run({"timeout", "--preserve-status", "-s", "INT", "4", GPEN_ENHANCE,
                           "--model", kModel, "--device", "cpu", "--jobs", "1", dir / "in", "-o",
                           dir / "out", "--report", dir / "report.json"},
                          {{"GPEN_MODEL_DIR", dir / "no-models"},
                           {"GPEN_ENHANCE_TEST_DELAY_MS", "1500"}});
  EXPECT_EQ(r.status, 130) << r.all();
  const std::string report = read_file(dir / "report.json");
  EXPECT_TRUE(contains(report, "\"interrupted\": true")) << report;
  EXPECT_TRUE(contains(report, "\"status\": \"not_run\"")) << report;
  EXPECT_TRUE(contains(report, "\"failed\": 0")) << "an image caught midway is not a failure: " << report;
  EXPECT_TRUE(contains(report, "\"inputs\": 5")) << report;
  EXPECT_FALSE(fs::exists(dir / "report.json.tmp"));
}

TEST_F(GpenEnhanceCli, UsageErrors) {
  EXPECT_EQ(enhance({dir / "x.png"}).status, 2);                  // no -o
  EXPECT_EQ(enhance({"-o", dir / "out"}).status, 2);              // no input
  EXPECT_EQ(enhance({"a.png", "-o", "o", "--strength", "2"}).status, 2);
  EXPECT_EQ(enhance({"a.png", "-o", "o", "--format", "gif"}).status, 2);
  const RunResult help = enhance({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_TRUE(contains(help.out, "--skip-existing")) << help.out;
  EXPECT_TRUE(contains(help.out, "--shard")) << help.out;
  EXPECT_TRUE(contains(help.out, "K counted from 0")) << help.out;
  for (const char* bad : {"4/4", "1/0", "-1/4", "x", "1/2/3"}) {
    const RunResult shard = enhance({"a.png", "-o", "o", "--shard", bad});
    EXPECT_EQ(shard.status, 2) << bad;
    EXPECT_TRUE(contains(shard.err, "--shard")) << shard.err;
  }
  EXPECT_EQ(enhance({"--merge-reports", "a.json", "--shard", "0/2"}).status, 2);
  // An input that is not there is a failure, reported by name.
  const RunResult missing = enhance({dir / "nothing-here.png", "-o", dir / "out"});
  EXPECT_EQ(missing.status, 1) << missing.all();
  EXPECT_TRUE(contains(missing.err, "nothing-here.png: no such file")) << missing.all();
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
