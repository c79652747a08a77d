// gpen-enhance's scale-out pieces without running it: --shard's split and
// --report's JSON, written, read back and merged.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "../tools/enhance/json.h"
#include "../tools/enhance/report.h"
#include "../tools/enhance/shard.h"

namespace {

using namespace gpen_tools;

std::vector<std::string> archive_names(int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i)
    names.push_back("20" + std::to_string(10 + i % 14) + "/roll-" + std::to_string(i / 37) +
                    "/IMG_" + std::to_string(1000 + i) + ".jpg");
  return names;
}

InputList listing(const std::vector<std::string>& relatives, const std::string& root) {
  InputList list;
  for (const auto& r : relatives) list.items.push_back({root + "/" + r, r, MediaKind::Image});
  return list;
}

TEST(Shard, ParsesKOfNFromZero) {
  const Shard s = parse_shard("3/4");
  EXPECT_EQ(s.index, 3u);
  EXPECT_EQ(s.count, 4u);
  EXPECT_EQ(s.text(), "3/4");
  EXPECT_TRUE(parse_shard("0/1").whole());
  for (const char* bad : {"4/4", "1/0", "0/0", "-1/4", "1", "1/", "/4", "a/4", "1/4x", " 1/4",
                          "+1/4", "1/2/3", "", "1234567890/1234567891"})
    EXPECT_THROW(parse_shard(bad), std::invalid_argument) << bad;
  try {
    parse_shard("4/4");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("0 to 3"), std::string::npos) << e.what();
  }
}

// The split is a contract between machines and releases: these values must
// never change (if they do, every running archive's shards move).
TEST(Shard, HashIsPinned) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
  EXPECT_EQ(shard_key("2019/IMG_1.JPG"), "2019/IMG_1");
  EXPECT_EQ(shard_key("noextension"), "noextension");
  EXPECT_EQ(shard_key("a.b/c.tar.gz"), "a.b/c.tar");
  std::string pinned;
  for (const char* key : {"a", "b", "photo", "2019/IMG_1", "x/y/z"})
    pinned += std::to_string(shard_of(key, 4)) + std::to_string(shard_of(key, 7)) + " ";
  EXPECT_EQ(pinned, "31 02 15 02 31 ");
}

TEST(Shard, EveryInputInExactlyOneShardWhicheverTheListingOrder) {
  const auto names = archive_names(2000);
  for (unsigned n : {1u, 2u, 4u, 7u, 16u}) {
    std::map<std::string, int> owners;
    for (unsigned k = 0; k < n; ++k) {
      InputList list = listing(names, "/archive");
      keep_shard(list, {k, n});
      for (const auto& item : list.items) ++owners[item.relative];
    }
    EXPECT_EQ(owners.size(), names.size()) << "N = " << n;
    for (const auto& [name, count] : owners) EXPECT_EQ(count, 1) << name << ", N = " << n;
  }
  // Another order, another root (another machine's mount), more files: each
  // file that was there keeps its shard.
  auto shuffled = names;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  shuffled.push_back("2030/new.jpg");
  for (unsigned k = 0; k < 4; ++k) {
    InputList a = listing(names, "/archive"), b = listing(shuffled, "/mnt/nfs/photos");
    keep_shard(a, {k, 4});
    keep_shard(b, {k, 4});
    std::set<std::string> in_a, in_b;
    for (const auto& item : a.items) in_a.insert(item.relative);
    for (const auto& item : b.items) in_b.insert(item.relative);
    in_b.erase("2030/new.jpg");
    EXPECT_EQ(in_a, in_b) << "shard " << k;
  }
}

TEST(Shard, SplitsRoughlyEvenly) {
  const auto names = archive_names(8000);
  for (unsigned n : {2u, 4u, 10u, 64u}) {
    std::vector<int> sizes(n);
    for (const auto& name : names) ++sizes[shard_of(shard_key(name), n)];
    const double mean = double(names.size()) / n;
    for (unsigned k = 0; k < n; ++k)  // far inside what chance allows at 6 sigma
      EXPECT_NEAR(sizes[k], mean, 6 * std::sqrt(mean)) << "shard " << k << " of " << n;
  }
}

TEST(Shard, NamesThatMayShareAnOutputShareAShard) {
  // photo.jpg and photo.tif both want photo.png with --format png.
  for (unsigned n : {2u, 3u, 5u, 16u})
    for (const char* stem : {"photo", "a/b/c", "IMG_0001"})
      EXPECT_EQ(shard_of(shard_key(std::string(stem) + ".jpg"), n),
                shard_of(shard_key(std::string(stem) + ".tif"), n));
}

TEST(Json, StringsAreEscapedAndReadBack) {
  const std::string tricky = std::string("quote\" back\\slash\nnew\ttab\x01\x1f\x7f ") +
                             "é 日本 😀 / end";
  const std::string literal = json_string(tricky);
  EXPECT_EQ(literal.find('\n'), std::string::npos);
  EXPECT_NE(literal.find("\\u0001"), std::string::npos);
  EXPECT_NE(literal.find("é"), std::string::npos) << "UTF-8 is kept as it is";
  EXPECT_EQ(parse_json(literal).string, tricky);
  // Bytes that are not UTF-8 (a Latin-1 file name) round-trip as \udcXX.
  const std::string latin1 = "caf\xe9.jpg\xff";
  EXPECT_EQ(json_string(latin1), "\"caf\\udce9.jpg\\udcff\"");
  EXPECT_EQ(parse_json(json_string(latin1)).string, latin1);
  // Escapes another writer may use.
  EXPECT_EQ(parse_json(R"("\u00e9\ud83d\ude00\/")").string, "é😀/");
}

TEST(Json, NumbersAreShortAndExact) {
  EXPECT_EQ(json_number(3), "3");
  EXPECT_EQ(json_number(0.25), "0.25");
  EXPECT_EQ(json_number(1.0 / 0.0), "null");
  EXPECT_EQ(parse_json(json_number(0.1)).number, 0.1);
  EXPECT_EQ(parse_json("-1.5e3").number, -1500);
}

TEST(Json, RejectsWhatIsNotJson) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "\"\\x\"",
                          "\"a\nb\"", "\"\\ud800\"", "\"\xc3(\"", "nul", "{\"a\":1} x",
                          "{\"a\":1,\"a\":2}", "{a:1}", "'a'"})
    EXPECT_THROW(parse_json(bad), JsonError) << bad;
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_THROW(parse_json(deep), JsonError);
  EXPECT_NO_THROW(parse_json(" { \"a\" : [ 1 , true , false , null , \"x\" ] } "));
}

Report sample_report() {
  Report report;
  report.sharded = true;
  report.shard = {1, 4};
  report.output = "/out \"restored\"";
  report.seconds = 12.5;
  report.records = {
      {"/in/a.jpg", Status::Restored, 3, 0.75, "/out/a.jpg", ""},
      {"/in/b\n\"odd\".png", Status::Failed, 0, 0.125, "/out/b.png", "cannot decode: \"bad\" data"},
      {"/in/c.jpg", Status::Skipped, 0, 0, "/out/c.jpg", ""},
      {"/in/d.jpg", Status::NotRun, 0, 0, "/out/d.jpg", ""},
  };
  return report;
}

TEST(Report, RoundTrips) {
  const Report report = sample_report();
  const std::string text = report_json(report);
  EXPECT_NE(text.find("\"totals\": {\"inputs\": 4, \"restored\": 1, \"failed\": 1, \"skipped\": 1, "
                      "\"not_run\": 1, \"faces\": 3"),
            std::string::npos)
      << text;
  const Report back = parse_report(text);
  EXPECT_TRUE(back.sharded);
  EXPECT_EQ(back.shard.text(), "1/4");
  EXPECT_EQ(back.output, report.output);
  EXPECT_EQ(back.seconds, 12.5);
  ASSERT_EQ(back.records.size(), report.records.size());
  for (std::size_t i = 0; i < report.records.size(); ++i) {
    EXPECT_EQ(back.records[i].input, report.records[i].input);
    EXPECT_EQ(back.records[i].status, report.records[i].status);
    EXPECT_EQ(back.records[i].faces, report.records[i].faces);
    EXPECT_EQ(back.records[i].seconds, report.records[i].seconds);
    EXPECT_EQ(back.records[i].output, report.records[i].output);
    EXPECT_EQ(back.records[i].error, report.records[i].error);
  }
}

TEST(Report, RejectsCutOrForeignFiles) {
  const std::string text = report_json(sample_report());
  EXPECT_THROW(parse_report(text.substr(0, text.size() / 2)), std::runtime_error);
  EXPECT_THROW(parse_report("{\"format\": \"something else\"}"), std::runtime_error);
  std::string edited = text;
  edited.replace(edited.find("\"restored\": 1"), 13, "\"restored\": 2");
  EXPECT_THROW(parse_report(edited), std::runtime_error) << "totals that disagree";
  std::string unknown = text;
  const std::string skipped = "\"status\": \"skipped\"";
  unknown.replace(unknown.find(skipped), skipped.size(), "\"status\": \"lost\"");
  EXPECT_THROW(parse_report(unknown), std::runtime_error);
}

TEST(Report, WrittenAtomically) {
  const auto dir = std::filesystem::temp_directory_path() / ("report-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "r.json").string();
  EXPECT_EQ(write_file_atomically(path, "first"), "");
  EXPECT_EQ(write_file_atomically(path, "second"), "");
  std::ifstream in(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "second");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_NE(write_file_atomically((dir / "no/such/folder.json").string(), "x"), "");
  std::filesystem::remove_all(dir);
}

Report shard_report(unsigned k, unsigned n, std::vector<ReportRecord> records) {
  Report r;
  r.sharded = true;
  r.shard = {k, n};
  r.records = std::move(records);
  return r;
}

TEST(Merge, AddsShardsUpAndSaysWhenComplete) {
  const MergedReport merged = merge_reports({
      {"0.json", shard_report(0, 2, {{"a", Status::Restored, 2, 1, "A", ""},
                                     {"b", Status::Skipped, 0, 0, "B", ""}})},
      {"1.json", shard_report(1, 2, {{"c", Status::Restored, 1, 1, "C", ""}})},
  });
  EXPECT_TRUE(merged.complete());
  EXPECT_EQ(merged.shard_count, 2u);
  EXPECT_TRUE(merged.missing_shards.empty());
  EXPECT_TRUE(merged.duplicates.empty());
  const ReportTotals t = totals_of(merged.records);
  EXPECT_EQ(t.inputs, 3u);
  EXPECT_EQ(t.restored, 2u);
  EXPECT_EQ(t.faces, 3u);
  EXPECT_EQ(merged_summary(merged),
            "2 reports, 3 inputs: 2 restored, 1 skipped, 0 failed, 0 not run, 3 faces; "
            "no duplicates; complete");
  // The merged file is JSON that says the same.
  const JsonValue json = parse_json(merged_json(merged));
  EXPECT_TRUE(json.find("complete")->boolean);
  EXPECT_EQ(json.find("totals")->find("restored")->number, 2);
  EXPECT_EQ(json.find("records")->array.size(), 3u);
}

TEST(Merge, AResumedShardCountsOnceButAnOverlapIsFlagged) {
  // A task cancelled midway, then re-submitted with --skip-existing.
  const MergedReport resumed = merge_reports({
      {"0.json", shard_report(0, 1, {{"a", Status::Restored, 1, 1, "A", ""},
                                     {"b", Status::NotRun, 0, 0, "B", ""}})},
      {"0-again.json", shard_report(0, 1, {{"a", Status::Skipped, 0, 0, "A", ""},
                                           {"b", Status::Restored, 1, 1, "B", ""}})},
  });
  EXPECT_TRUE(resumed.complete()) << merged_summary(resumed);
  EXPECT_EQ(resumed.duplicates.size(), 2u);
  EXPECT_EQ(resumed.restored_twice, 0u);
  EXPECT_EQ(totals_of(resumed.records).restored, 2u);

  // The same image restored by two reports: work done twice.
  const MergedReport twice = merge_reports({
      {"0.json", shard_report(0, 2, {{"a", Status::Restored, 1, 1, "A", ""}})},
      {"1.json", shard_report(1, 2, {{"a", Status::Restored, 1, 1, "A", ""}})},
  });
  EXPECT_FALSE(twice.complete());
  EXPECT_EQ(twice.restored_twice, 1u);
  EXPECT_NE(merged_summary(twice).find("1 duplicates (in more than one report), 1 restored twice"), std::string::npos)
      << merged_summary(twice);
  ASSERT_EQ(twice.duplicates.size(), 1u);
  EXPECT_EQ(twice.duplicates[0].seen.size(), 2u);
}

TEST(Merge, MissingShardsFailuresAndMixedSplitsAreIncomplete) {
  const MergedReport missing = merge_reports({
      {"0.json", shard_report(0, 3, {{"a", Status::Restored, 1, 1, "A", ""}})},
      {"2.json", shard_report(2, 3, {{"c", Status::Failed, 0, 1, "C", "bad"}})},
  });
  EXPECT_FALSE(missing.complete());
  EXPECT_EQ(missing.missing_shards, std::vector<unsigned>{1});
  EXPECT_NE(merged_summary(missing).find("missing shards: 1/3"), std::string::npos);

  const MergedReport mixed = merge_reports({
      {"a.json", shard_report(0, 2, {})},
      {"b.json", shard_report(1, 3, {})},
  });
  EXPECT_FALSE(mixed.complete());
  EXPECT_EQ(mixed.problems.size(), 1u);
}

}  // namespace
