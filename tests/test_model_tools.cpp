// gpen-model-info and models/fetch-models.sh: the checks that decide whether a
// downloaded model file is kept, on the fixtures (nothing is downloaded:
// the script fetches from a file:// mirror).
#include <gtest/gtest.h>

#include <sstream>

#include "tool_runner.h"

namespace {

using namespace gpen_test;

const std::string kData = GPEN_TEST_DATA_DIR;
const std::string kGpen = kData + "/gpen-64/gpen-64.pth";
const std::string kRetinaFace = kData + "/retinaface-mnet/retinaface-mnet.pth";

RunResult model_info(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {GPEN_MODEL_INFO};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

// The script with our gpen-model-info, and a mirror instead of the internet.
RunResult fetch(const std::vector<std::string>& args, const std::string& mirror) {
  std::vector<std::string> argv = {"bash", FETCH_MODELS};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {{"GPEN_MODEL_INFO", GPEN_MODEL_INFO},
                    {"GPEN_MODEL_MIRROR", "file://" + mirror},
                    {"GPEN_MODEL_DIR", ""}});
}

TEST(ModelInfo, AcceptsEveryFixtureLayout) {
  for (const char* name : {"gpen-64.pth", "gpen-64-legacy.pth", "gpen-64-nested.pth"}) {
    const RunResult r = model_info({kData + "/gpen-64/" + name});
    EXPECT_EQ(r.status, 0) << r.all();
    EXPECT_TRUE(contains(r.out, "GPEN generator, GPEN size 64")) << r.out;
    EXPECT_TRUE(contains(r.out, "106 tensors")) << r.out;
    EXPECT_TRUE(contains(r.out, "every shape as expected")) << r.out;
  }
  const RunResult r = model_info({kRetinaFace});
  EXPECT_EQ(r.status, 0) << r.all();
  EXPECT_TRUE(contains(r.out, "RetinaFace detector, RetinaFace mobilenet0.25")) << r.out;
  EXPECT_TRUE(contains(r.out, "300 tensors")) << r.out;
}

TEST(ModelInfo, RejectsWhatIsNotAValidModel) {
  TempDir dir;
  write_file(dir / "corrupt.pth", corrupt_bytes());
  const std::string zip = read_file(kGpen);
  write_file(dir / "truncated.pth", zip.substr(0, zip.size() / 2));
  write_file(dir / "notes.txt", "not a model\n");

  const RunResult corrupt = model_info({dir / "corrupt.pth"});
  EXPECT_EQ(corrupt.status, 1);
  EXPECT_TRUE(contains(corrupt.out, "corrupt.pth: NOT VALID: not a PyTorch checkpoint")) << corrupt.out;
  EXPECT_EQ(model_info({dir / "truncated.pth"}).status, 1);
  EXPECT_EQ(model_info({dir / "notes.txt"}).status, 1);
  EXPECT_EQ(model_info({dir / "missing.pth"}).status, 1);
  // Tensors, but not a network: the reference tensors of the fixture.
  const RunResult tensors = model_info({kData + "/gpen-64/gpen-64_tensors.pt"});
  EXPECT_EQ(tensors.status, 1);
  EXPECT_TRUE(contains(tensors.out, "neither a GPEN generator")) << tensors.out;
  // One bad file among good ones fails the run, and says which.
  const RunResult mixed = model_info({kGpen, dir / "corrupt.pth"});
  EXPECT_EQ(mixed.status, 1);
  EXPECT_TRUE(contains(mixed.out, "gpen-64.pth: GPEN generator")) << mixed.out;
}

TEST(ModelInfo, AReleasedNameMustBeThatModel) {
  TempDir dir;
  copy_into(kGpen, dir / "GPEN-BFR-512.pth");
  copy_into(kRetinaFace, dir / "RetinaFace-R50.pth");
  const RunResult gpen = model_info({dir / "GPEN-BFR-512.pth"});
  EXPECT_EQ(gpen.status, 1);
  EXPECT_TRUE(contains(gpen.out, "restores faces at 64 px, not 512")) << gpen.out;
  const RunResult retina = model_info({dir / "RetinaFace-R50.pth"});
  EXPECT_EQ(retina.status, 1);
  EXPECT_TRUE(contains(retina.out, "backbone is mobilenet0.25, not resnet50")) << retina.out;
  const RunResult kind = model_info({"--as", "RetinaFace-R50.pth", kGpen});
  EXPECT_EQ(kind.status, 1);
  EXPECT_TRUE(contains(kind.out, "it is a GPEN generator, not a RetinaFace detector")) << kind.out;
  EXPECT_EQ(model_info({"--expect", "gpen", "--size", "64", kGpen}).status, 0);
}

TEST(ModelInfo, ListsTheReleasedFilesAsTheReadmeDoes) {
  const RunResult list = model_info({"--list"});
  ASSERT_EQ(list.status, 0);
  const std::string readme = read_file(MODELS_README);
  int entries = 0;
  std::istringstream lines(list.out);
  for (std::string line; std::getline(lines, line); ++entries) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, '\t');) fields.push_back(cell);
    ASSERT_EQ(fields.size(), 7u) << line;
    EXPECT_TRUE(contains(readme, fields[0])) << fields[0] << " is not in models/README.md";
    EXPECT_TRUE(contains(readme, fields[4])) << fields[4] << " is not in models/README.md";
  }
  EXPECT_EQ(entries, 6);
}

TEST(FetchModels, VerifiesFilesWithOurReader) {
  TempDir dir;
  write_file(dir / "corrupt.pth", corrupt_bytes());
  const RunResult good = fetch({"--verify", kGpen, kRetinaFace}, dir.path().string());
  EXPECT_EQ(good.status, 0) << good.all();
  const RunResult bad = fetch({"--verify", kGpen, dir / "corrupt.pth"}, dir.path().string());
  EXPECT_EQ(bad.status, 1) << bad.all();
  EXPECT_TRUE(contains(bad.out, "corrupt.pth: NOT VALID")) << bad.all();
}

TEST(FetchModels, DeletesADownloadThatIsNotTheModel) {
  TempDir mirror, models;
  // What a broken mirror or a truncated transfer would deliver.
  copy_into(kGpen, mirror / "GPEN-BFR-512.pth");              // the wrong size
  write_file(mirror / "RetinaFace-R50.pth", corrupt_bytes());  // not a checkpoint
  const RunResult r = fetch({"--dir", models.path().string()}, mirror.path().string());
  EXPECT_EQ(r.status, 1) << r.all();
  EXPECT_TRUE(contains(r.out, "non-commercial")) << "tells the licence terms: " << r.out;
  EXPECT_TRUE(contains(r.out, "restores faces at 64 px, not 512")) << r.all();
  EXPECT_TRUE(contains(r.err, "RetinaFace-R50.pth: the downloaded file is not valid")) << r.all();
  EXPECT_TRUE(fs::is_empty(models.path())) << "nothing kept, no .part left";
  // A name that is not released is refused.
  const RunResult unknown = fetch({"--dir", models.path().string(), "GPEN-BFR-9.pth"},
                                  mirror.path().string());
  EXPECT_EQ(unknown.status, 1);
  EXPECT_TRUE(contains(unknown.err, "not a released model")) << unknown.all();
}

TEST(FetchModels, KeepsAValidDownloadAndDoesNotFetchItTwice) {
  TempDir mirror, models;
  const std::string request = "my-gpen.pth=file://" + kGpen;
  const RunResult first = fetch({"--dir", models.path().string(), request}, mirror.path().string());
  ASSERT_EQ(first.status, 0) << first.all();
  EXPECT_EQ(read_file(models / "my-gpen.pth"), read_file(kGpen));
  EXPECT_FALSE(fs::exists(models / "my-gpen.pth.part"));
  const RunResult second = fetch({"--dir", models.path().string(), request}, mirror.path().string());
  EXPECT_EQ(second.status, 0) << second.all();
  EXPECT_TRUE(contains(second.out, "my-gpen.pth: already here and valid")) << second.out;
}

}  // namespace
