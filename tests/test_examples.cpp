// Every example in examples/ runs (or, for live sources this machine does not
// have, its pipeline builds) with the gpen-64 fixture on the CPU.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "opencv_codecs.h"
#include "tool_runner.h"

namespace {

using namespace gpen_test;

const std::string kData = GPEN_TEST_DATA_DIR;
const std::string kExamples = EXAMPLES_DIR;
const std::string kModel = kData + "/gpen-64/gpen-64.pth";
const std::string kAstronaut = kData + "/images/astronaut.png";
const std::string kSolvay = kData + "/images/solvay_1927.png";

// The scripts' settings: the fixture, the CPU, no RetinaFace (the cascade).
const std::map<std::string, std::string> kScriptEnv = {
    {"GPEN_MODEL", kModel}, {"GPEN_DEVICE", "cpu"}, {"GPEN_DETECTOR_MODEL", "/nonexistent"}};

cv::Mat read(const std::string& path) { return cv::imread(path, cv::IMREAD_COLOR); }

double max_difference(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat difference;
  cv::absdiff(a, b, difference);
  double worst = 0;
  cv::minMaxLoc(difference.reshape(1), nullptr, &worst);
  return worst;
}

// The examples' usual output, JPEG, where this OpenCV can read it back.
std::string image_extension() { return opencv_has_codec(".jpg") ? ".jpg" : ".png"; }

TEST(Examples, EnhancePhotos) {
  TempDir dir;
  copy_into(kAstronaut, dir / "scans/0000.png");
  copy_into(kSolvay, dir / "scans/0001.png");
  const std::string ext = image_extension();
  const RunResult r = run({kExamples + "/enhance-photos.sh", dir / "scans/%04d.png",
                           dir / ("restored/%04d" + ext)},
                          kScriptEnv);
  ASSERT_EQ(r.status, 0) << r.all();
  const cv::Mat first = read(dir / ("restored/0000" + ext)),
                second = read(dir / ("restored/0001" + ext));
  EXPECT_EQ(first.size(), cv::Size(512, 512));
  EXPECT_EQ(second.size(), cv::Size(1328, 568));
  EXPECT_FALSE(fs::exists(dir / ("restored/0002" + ext)));
}

TEST(Examples, EnhanceAlignedFolder) {
  TempDir dir;
  copy_into(kData + "/gpen-64/gpen-64_in0.png", dir / "faces/00000.png");
  copy_into(kData + "/gpen-64/gpen-64_in1.png", dir / "faces/00001.png");
  const RunResult r = run({kExamples + "/enhance-aligned-folder.sh", dir / "faces/%05d.png",
                           dir / "out/%05d.png", kModel},
                          {{"GPEN_DEVICE", "cpu"}});
  ASSERT_EQ(r.status, 0) << r.all();
  for (int i = 0; i < 2; ++i) {
    const cv::Mat out = read(dir / ("out/0000" + std::to_string(i) + ".png"));
    const cv::Mat reference = read(kData + "/gpen-64/gpen-64_out" + std::to_string(i) + ".png");
    ASSERT_EQ(out.size(), reference.size());
    EXPECT_LE(max_difference(out, reference), 1.0);
  }
}

TEST(Examples, EnhanceVideoKeepsTheSound) {
  TempDir dir;
  ASSERT_TRUE(make_test_video(kAstronaut, dir / "clip.mkv", 12));
  const RunResult r =
      run({kExamples + "/enhance-video.sh", dir / "clip.mkv", dir / "restored.mkv"}, kScriptEnv);
  ASSERT_EQ(r.status, 0) << r.all();
  const MediaSummary out = probe_media(dir / "restored.mkv");
  ASSERT_TRUE(out.error.empty()) << out.error;
  EXPECT_EQ(out.video_frames, 12);
  EXPECT_EQ(out.width, 256);
  EXPECT_TRUE(out.has_audio);
  EXPECT_GT(out.audio_duration, 900 * GST_MSECOND);
}

TEST(Examples, LiveStreamRunsOnALiveTestSource) {
  std::map<std::string, std::string> env = kScriptEnv;
  env["NUM_BUFFERS"] = "10";
  env["SINK"] = "fakesink sync=true";
  const RunResult r = run({kExamples + "/live-stream.sh", "test"}, env);
  EXPECT_EQ(r.status, 0) << r.all();
}

// RTSP cameras and webcams are not here: their pipelines must build.
TEST(Examples, LiveStreamPipelinesBuild) {
  for (const char* source : {"rtsp://camera.local/stream", "/dev/video0"}) {
    const RunResult printed = run({kExamples + "/live-stream.sh", "--print", source}, kScriptEnv);
    ASSERT_EQ(printed.status, 0) << printed.all();
    std::vector<std::string> words;
    std::istringstream lines(printed.out);
    for (std::string line; std::getline(lines, line);) words.push_back(line);
    std::vector<const gchar*> argv;
    for (const auto& word : words) argv.push_back(word.c_str());
    argv.push_back(nullptr);
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launchv(argv.data(), &error);
    EXPECT_NE(pipeline, nullptr) << source;
    EXPECT_EQ(error, nullptr) << source << ": " << (error ? error->message : "");
    g_clear_error(&error);
    ASSERT_NE(pipeline, nullptr);
    GstElement* gpen = gst_bin_get_by_name(GST_BIN(pipeline), "gpen");
    ASSERT_NE(gpen, nullptr);
    guint64 timeout = 0;
    g_object_get(gpen, "batch-timeout", &timeout, nullptr);
    EXPECT_EQ(timeout, 40 * GST_MSECOND) << "a live stream sets batch-timeout";
    gst_object_unref(gpen);
    gst_object_unref(pipeline);
  }
}

TEST(Examples, FourCamerasShareOneModel) {
  std::map<std::string, std::string> env = kScriptEnv;
  env["NUM_BUFFERS"] = "3";
  env["SINK"] = "fakesink sync=true";
  env["GPEN_BATCH_SIZE"] = "2";
  const RunResult r = run({kExamples + "/four-cameras.sh", "test"}, env);
  EXPECT_EQ(r.status, 0) << r.all();
}

// Cameras are not here: the four-camera pipeline of RTSP and V4L2 sources
// must build, its four elements sharing one id.
TEST(Examples, FourCamerasPipelinesBuild) {
  const RunResult printed =
      run({kExamples + "/four-cameras.sh", "--print", "rtsp://cam1/stream", "rtsp://cam2/stream",
           "/dev/video0", "/dev/video2"},
          kScriptEnv);
  ASSERT_EQ(printed.status, 0) << printed.all();
  std::vector<std::string> words;
  std::istringstream lines(printed.out);
  for (std::string line; std::getline(lines, line);) words.push_back(line);
  std::vector<const gchar*> argv;
  for (const auto& word : words) argv.push_back(word.c_str());
  argv.push_back(nullptr);
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launchv(argv.data(), &error);
  ASSERT_NE(pipeline, nullptr);
  EXPECT_EQ(error, nullptr) << (error ? error->message : "");
  g_clear_error(&error);
  for (int i = 0; i < 4; ++i) {
    GstElement* gpen = gst_bin_get_by_name(GST_BIN(pipeline), ("gpen" + std::to_string(i)).c_str());
    ASSERT_NE(gpen, nullptr) << i;
    gchar* id = nullptr;
    g_object_get(gpen, "model-instance-id", &id, nullptr);
    EXPECT_STREQ(id, "cameras");
    g_free(id);
    gst_object_unref(gpen);
  }
  gst_object_unref(pipeline);
}

TEST(Examples, EmbedTwoStreamsSharingAModel) {
  TempDir dir;
  const RunResult r = run({GPEN_EMBED_STREAMS, kModel, kAstronaut, dir / "a.png", dir / "b.png", "cpu"});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_TRUE(contains(r.out, "camera-a frame 3 at 0:00:00.120000000")) << r.out;
  EXPECT_TRUE(contains(r.out, "camera-b frame 3 at 0:00:00.120000000")) << r.out;
  // The engine's count over both streams (appsrc's threads decide which
  // frames meet in a batch).
  EXPECT_TRUE(contains(r.out, "batches for 8 frames of 2 streams")) << r.out;
  const cv::Mat in = read(kAstronaut), a = read(dir / "a.png"), b = read(dir / "b.png");
  ASSERT_EQ(a.size(), in.size());
  EXPECT_GT(max_difference(in, a), 10.0) << "the face was restored";
  EXPECT_EQ(max_difference(a, b), 0.0) << "the same frame restored alike in both streams";
}

TEST(Examples, EmbedInCpp) {
  TempDir dir;
  const RunResult r = run({GPEN_EMBED, kModel, kAstronaut, dir / "restored.png", "cpu"});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_TRUE(contains(r.out, "frame 0: 1 face")) << r.out;
  const cv::Mat in = read(kAstronaut), out = read(dir / "restored.png");
  ASSERT_EQ(out.size(), in.size());
  EXPECT_GT(max_difference(in, out), 10.0) << "the face was restored";
}

TEST(Examples, EmbedInPython) {
  const std::string python = PYTHON_GI;
  if (python.empty())
    GTEST_SKIP() << "no python3 with GObject introspection for GStreamer (python3-gi, "
                    "gir1.2-gst-plugins-base-1.0): setup.sh installs them";
  TempDir dir;
  const RunResult r = run({python, kExamples + "/embed/gpen_embed.py", kModel, kAstronaut,
                           dir / "restored.png", "cpu"});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_TRUE(contains(r.out, "frame 0: 1 face")) << r.out;
  // The same element on the same frame: the same pixels as the C++ program.
  const RunResult cpp = run({GPEN_EMBED, kModel, kAstronaut, dir / "cpp.png", "cpu"});
  ASSERT_EQ(cpp.status, 0) << cpp.all();
  const cv::Mat py = read(dir / "restored.png"), cc = read(dir / "cpp.png");
  ASSERT_EQ(py.size(), cc.size());
  EXPECT_EQ(max_difference(py, cc), 0.0);
  // A model that does not load is an error, said as such.
  write_file(dir / "bad.pth", corrupt_bytes());
  const RunResult bad = run({python, kExamples + "/embed/gpen_embed.py", dir / "bad.pth",
                             kAstronaut, dir / "x.png", "cpu"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_TRUE(contains(bad.err, "bad.pth")) << bad.all();
}

TEST(Examples, DrawFaces) {
  TempDir dir;
  const std::string drawn_path = dir / ("faces" + image_extension());
  const RunResult r = run({GPEN_DRAW_FACES, kSolvay, drawn_path});
  ASSERT_EQ(r.status, 0) << r.all();
  const int faces = std::atoi(r.out.c_str());
  EXPECT_GE(faces, 25) << r.out;  // 29 people in the photograph
  EXPECT_LE(faces, 32) << r.out;
  const cv::Mat drawn = read(drawn_path);
  EXPECT_EQ(drawn.size(), cv::Size(1328, 568));
}

// docs/make-images.sh, which makes the README's pictures, on the fixtures
// (the before/after with the fixture model instead of the released one).
TEST(Docs, MakeImages) {
  gchar* dot = g_find_program_in_path("dot");
  const bool have_dot = dot != nullptr;
  g_free(dot);
  if (!have_dot) GTEST_SKIP() << "graphviz's dot is not installed (apt-get install graphviz)";
  TempDir dir;
  const RunResult r = run({DOCS_DIR "/make-images.sh", "--out", dir.path().string(),
                           "--before-after", "--model", kModel, "--device", "cpu"});
  ASSERT_EQ(r.status, 0) << r.all();
  for (const char* name : {"pipeline-images.png", "pipeline-video.png", "solvay-detections.jpg",
                           "before-after.jpg"}) {
    const cv::Mat image = read(dir / name);
    EXPECT_FALSE(image.empty()) << name;
    EXPECT_LT(fs::file_size(dir / name), 300u * 1024) << name << " is too large for the README";
  }
  EXPECT_EQ(read(dir / "before-after.jpg").size(), cv::Size(1608, 380));
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
