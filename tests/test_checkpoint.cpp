// Tests of the checkpoint reader: the real fixtures in all their forms, and
// hand-built hostile files (pickles and zip archives written byte by byte).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "checkpoint/pickle_reader.h"
#include "checkpoint/zip_archive.h"
#include "checkpoint_test_util.h"
#include "runtime/error.h"

namespace {

using namespace checkpoint_test;

// The loaded fixtures, shared by the tests (each is a few MB).
const TensorMap& zip_fixture() {
  static const TensorMap m = gpen::load_checkpoint(fixture("gpen-64.pth"));
  return m;
}

// --- the real fixtures --------------------------------------------------------------

TEST(Checkpoint, LoadsZipCheckpoint) {
  const TensorMap& m = zip_fixture();
  EXPECT_EQ(m.size(), 106u);
  ASSERT_TRUE(m.count("generator.style.1.weight"));
  ASSERT_TRUE(m.count("ecd1.0.0.kernel"));
  EXPECT_EQ(m.at("generator.style.1.weight").sizes(), (std::vector<std::int64_t>{128, 128}));
  EXPECT_EQ(m.at("generator.style.1.bias").sizes(), (std::vector<std::int64_t>{128}));
  EXPECT_EQ(m.at("ecd1.0.0.kernel").sizes(), (std::vector<std::int64_t>{4, 4}));
  for (const auto& [key, t] : m) {
    EXPECT_TRUE(t.is_contiguous()) << key;
    EXPECT_EQ(t.device(), torch::kCPU) << key;
    EXPECT_EQ(t.scalar_type(), torch::kFloat32) << key;
    EXPECT_TRUE(torch::isfinite(t).all().item<bool>()) << key;
  }
}

TEST(Checkpoint, AllFormsGiveIdenticalTensors) {
  const TensorMap& zip = zip_fixture();
  const TensorMap legacy = gpen::load_checkpoint(fixture("gpen-64-legacy.pth"));
  const TensorMap nested = gpen::load_checkpoint(fixture("gpen-64-nested.pth"));
  for (const TensorMap* other : {&legacy, &nested}) {
    ASSERT_EQ(other->size(), zip.size());
    for (const auto& [key, t] : zip) {
      ASSERT_TRUE(other->count(key)) << key;
      EXPECT_EQ(other->at(key).scalar_type(), t.scalar_type()) << key;
      EXPECT_TRUE(torch::equal(other->at(key), t)) << key;
    }
  }
}

TEST(Checkpoint, FromMemoryEqualsFromFile) {
  const TensorMap m = load(read_bytes(fixture("gpen-64.pth")));
  ASSERT_EQ(m.size(), zip_fixture().size());
  for (const auto& [key, t] : m) EXPECT_TRUE(torch::equal(zip_fixture().at(key), t)) << key;
}

TEST(Checkpoint, TensorsOwnTheirMemory) {
  std::string bytes = read_bytes(fixture("gpen-64.pth"));
  const TensorMap m = load(bytes);
  const torch::Tensor before = m.at("generator.style.1.weight").clone();
  std::fill(bytes.begin(), bytes.end(), '\0');  // the tensors must not see this
  EXPECT_TRUE(torch::equal(m.at("generator.style.1.weight"), before));
}

TEST(Checkpoint, LoadsPlainTensorDict) {
  const TensorMap m = gpen::load_checkpoint(fixture("gpen-64_tensors.pt"));
  ASSERT_EQ(m.size(), 2u);
  ASSERT_TRUE(m.count("input") && m.count("output"));
  for (const char* key : {"input", "output"}) {
    EXPECT_EQ(m.at(key).sizes(), (std::vector<std::int64_t>{2, 3, 64, 64})) << key;
    EXPECT_EQ(m.at(key).scalar_type(), torch::kFloat32) << key;
  }
  const torch::Tensor& in = m.at("input");
  EXPECT_GE(in.min().item<float>(), -1.0f);
  EXPECT_LE(in.max().item<float>(), 1.0f);
  EXPECT_GT(in.std().item<float>(), 0.0f);  // not all one value
}

// --- files that are not checkpoints -------------------------------------------------

TEST(Checkpoint, MissingFileNamesThePath) {
  const std::string path = "/nonexistent/dir/model.pth";
  const std::string msg = error_of([&] { gpen::load_checkpoint(path); });
  EXPECT_TRUE(starts_with(msg, path + ": cannot open")) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
}

TEST(Checkpoint, DirectoryIsRefused) {
  const std::string msg = error_of([&] { gpen::load_checkpoint(GPEN_TEST_DATA_DIR); });
  EXPECT_TRUE(starts_with(msg, GPEN_TEST_DATA_DIR)) << msg;
}

TEST(Checkpoint, NonCheckpointsAreRefused) {
  EXPECT_NE(load_error("").find("not a PyTorch checkpoint"), std::string::npos);

  const std::string png = read_bytes(fixture("gpen-64_in0.png"));
  const std::string msg = load_error(png, "face.png");
  EXPECT_TRUE(starts_with(msg, "face.png: not a PyTorch checkpoint")) << msg;
  EXPECT_THROW(gpen::load_checkpoint(fixture("gpen-64_in0.png")), CheckpointError);

  std::mt19937 rng(1234);
  for (int n : {1, 3, 21, 22, 100, 4096, 70000}) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    bytes[0] = 'x';
    EXPECT_NE(load_error(bytes).find("not a PyTorch checkpoint"), std::string::npos);
    // The same noise behind each format's magic must be refused too.
    EXPECT_THROW(load("PK\x03\x04" + bytes), CheckpointError);
    EXPECT_THROW(load("\x80\x02" + bytes), CheckpointError);
  }

  std::string tar(1024, '\0');
  std::memcpy(&tar[257], "ustar", 5);
  EXPECT_NE(load_error(tar).find("tar"), std::string::npos);

  // A pickle, but not a checkpoint.
  EXPECT_NE(load_error(Pickle().integer(5).stop().bytes()).find("not a PyTorch checkpoint"), std::string::npos);
}

// --- damaged fixtures -------------------------------------------------------------

std::vector<std::size_t> cut_points(std::size_t size) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i < 300 && i < size; ++i) cuts.push_back(i);
  for (int i = 0; i < 200; ++i) cuts.push_back(size * i / 200);
  cuts.push_back(size - 1);
  return cuts;
}

TEST(Checkpoint, TruncatedZipIsRefused) {
  const std::string bytes = read_bytes(fixture("gpen-64.pth"));
  for (std::size_t cut : cut_points(bytes.size())) {
    EXPECT_THROW(load(bytes.substr(0, cut)), CheckpointError) << "cut at " << cut;
  }
}

TEST(Checkpoint, TruncatedLegacyIsRefused) {
  const std::string bytes = read_bytes(fixture("gpen-64-legacy.pth"));
  for (std::size_t cut : cut_points(bytes.size())) {
    const std::string msg = load_error(bytes.substr(0, cut), "legacy.pth");
    EXPECT_TRUE(starts_with(msg, "legacy.pth: ")) << "cut at " << cut << ": " << msg;
  }
  // Cut inside the first pickles: the message says where.
  EXPECT_NE(load_error(bytes.substr(0, 40)).find("truncated pickle at offset"), std::string::npos);
}

// Changes `count` random bytes of `bytes` in [begin, end).
std::string corrupt(std::string bytes, std::mt19937& rng, std::size_t begin, std::size_t end, int count) {
  std::uniform_int_distribution<std::size_t> pos(begin, end - 1);
  for (int i = 0; i < count; ++i) {
    char& c = bytes[pos(rng)];
    c = static_cast<char>(c ^ (1 + rng() % 255));
  }
  return bytes;
}

TEST(Checkpoint, CorruptZipLoadsOrIsRefused) {
  const std::string bytes = read_bytes(fixture("gpen-64.pth"));
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) load_or_refuse(corrupt(bytes, rng, 0, bytes.size(), 1 + i % 3));
  // The directory and the pickle are where parsing happens.
  for (int i = 0; i < 200; ++i) load_or_refuse(corrupt(bytes, rng, bytes.size() - 9000, bytes.size(), 1 + i % 3));
  for (int i = 0; i < 100; ++i) load_or_refuse(corrupt(bytes, rng, 0, 17000, 1));
}

// Corrupts data.pkl and re-zips it with a valid CRC, so that the unpickler
// and the loader see the damage.
TEST(Checkpoint, CorruptPickleLoadsOrIsRefused) {
  const std::vector<ZipFile> files = unzip(read_bytes(fixture("gpen-64.pth")));
  ASSERT_EQ(files.front().name, "gpen-64/data.pkl");
  const std::string& pkl = files.front().data;
  std::mt19937 rng(7);
  int loaded = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<ZipFile> damaged = files;
    damaged.front().data = corrupt(pkl, rng, 0, pkl.size(), 1 + i % 4);
    try {
      load(make_zip(damaged));
      ++loaded;
    } catch (const CheckpointError&) {
    }
  }
  EXPECT_LT(loaded, 300);
}

TEST(Checkpoint, CorruptLegacyLoadsOrIsRefused) {
  const std::string bytes = read_bytes(fixture("gpen-64-legacy.pth"));
  std::mt19937 rng(99);
  for (int i = 0; i < 200; ++i) load_or_refuse(corrupt(bytes, rng, 0, bytes.size(), 1 + i % 3));
  for (int i = 0; i < 400; ++i) load_or_refuse(corrupt(bytes, rng, 0, 20000, 1 + i % 4));
}

TEST(Checkpoint, ZipCrcMismatchIsRefused) {
  std::string bytes = read_bytes(fixture("gpen-64.pth"));
  bytes[100] = static_cast<char>(bytes[100] ^ 1);  // inside data.pkl
  EXPECT_NE(load_error(bytes).find("CRC"), std::string::npos);
}

// --- hand-built checkpoints ---------------------------------------------------------

TEST(Checkpoint, HandBuiltZipAndZip64Load) {
  const std::vector<float> v = iota_floats(6);
  const std::string pkl = state_dict_pickle({{"w", "FloatStorage", "0", 6, 0, {2, 3}, {3, 1}, {}}});
  for (bool zip64 : {false, true}) {
    const TensorMap m = load(torch_zip(pkl, {{"0", float_bytes(v)}}, zip64));
    ASSERT_EQ(m.size(), 1u);
    EXPECT_TRUE(torch::equal(m.at("w"), torch::arange(6, torch::kFloat32).view({2, 3})));
  }
}

TEST(Checkpoint, SharedStorageViews) {
  // Three tensors on one storage: a transposed view, a strided slice, a scalar.
  const std::string pkl = state_dict_pickle({
      {"t", "FloatStorage", "s", 12, 2, {3, 2}, {1, 3}, {}},
      {"slice", "FloatStorage", "s", 12, 1, {4}, {3}, {}},
      {"scalar", "FloatStorage", "s", 12, 11, {}, {}, {}},
      {"empty", "FloatStorage", "s", 12, 12, {0, 5}, {5, 1}, {}},
      {"expanded", "FloatStorage", "s", 12, 0, {2, 3}, {0, 1}, {}},
  });
  const TensorMap m = load(torch_zip(pkl, {{"s", float_bytes(iota_floats(12))}}));
  const torch::Tensor all = torch::arange(12, torch::kFloat32);
  EXPECT_TRUE(torch::equal(m.at("t"), all.as_strided({3, 2}, {1, 3}, 2)));
  EXPECT_TRUE(torch::equal(m.at("slice"), torch::tensor({1.f, 4.f, 7.f, 10.f})));
  EXPECT_EQ(m.at("scalar").dim(), 0);
  EXPECT_EQ(m.at("scalar").item<float>(), 11.f);
  EXPECT_EQ(m.at("empty").sizes(), (std::vector<std::int64_t>{0, 5}));
  EXPECT_TRUE(torch::equal(m.at("expanded"), torch::tensor({{0.f, 1.f, 2.f}, {0.f, 1.f, 2.f}})));
  for (const auto& [key, t] : m) EXPECT_TRUE(t.is_contiguous()) << key;
  // Each owns its memory: no two share storage.
  EXPECT_NE(m.at("t").data_ptr(), m.at("slice").data_ptr());
}

TEST(Checkpoint, StorageTypes) {
  const std::string u8 = "\x00\x01\x02\xff"s;
  std::string i64;
  put_le(i64, static_cast<std::uint64_t>(-5), 8);
  put_le(i64, 7, 8);
  std::string f16;
  put_le(f16, 0x3c00, 2);  // 1.0
  put_le(f16, 0xc000, 2);  // -2.0
  std::string bf16;
  put_le(bf16, 0x3f80, 2);  // 1.0
  std::string f64;
  put_le(f64, 0x4004000000000000ull, 8);  // 2.5
  const std::string pkl = state_dict_pickle({
      {"u8", "ByteStorage", "a", 4, 0, {4}, {1}, {}},
      {"i8", "CharStorage", "a", 4, 0, {4}, {1}, {}},
      {"b", "BoolStorage", "a", 4, 0, {4}, {1}, {}},
      {"i64", "LongStorage", "c", 2, 0, {2}, {1}, {}},
      {"f16", "HalfStorage", "d", 2, 0, {2}, {1}, {}},
      {"bf16", "BFloat16Storage", "e", 1, 0, {1}, {1}, {}},
      {"f64", "DoubleStorage", "f", 1, 0, {}, {}, {}},
  });
  // One key described with two types is refused.
  EXPECT_NE(load_error(torch_zip(pkl, {{"a", u8}, {"c", i64}, {"d", f16}, {"e", bf16}, {"f", f64}})).find("described twice"),
            std::string::npos);

  const TensorMap m = load(torch_zip(state_dict_pickle({
                                         {"u8", "ByteStorage", "a", 4, 0, {4}, {1}, {}},
                                         {"i8", "CharStorage", "a2", 4, 0, {4}, {1}, {}},
                                         {"b", "BoolStorage", "a3", 4, 0, {4}, {1}, {}},
                                         {"i64", "LongStorage", "c", 2, 0, {2}, {1}, {}},
                                         {"f16", "HalfStorage", "d", 2, 0, {2}, {1}, {}},
                                         {"bf16", "BFloat16Storage", "e", 1, 0, {1}, {1}, {}},
                                         {"f64", "DoubleStorage", "f", 1, 0, {}, {}, {}},
                                     }),
                                     {{"a", u8}, {"a2", u8}, {"a3", u8}, {"c", i64}, {"d", f16}, {"e", bf16}, {"f", f64}}));
  EXPECT_TRUE(torch::equal(m.at("u8"), torch::tensor({0, 1, 2, 255}, torch::kUInt8)));
  EXPECT_TRUE(torch::equal(m.at("i8"), torch::tensor({0, 1, 2, -1}, torch::kInt8)));
  EXPECT_TRUE(torch::equal(m.at("b"), torch::tensor({false, true, true, true})));
  EXPECT_TRUE(torch::equal(m.at("i64"), torch::tensor({-5, 7}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(m.at("f16"), torch::tensor({1.f, -2.f}).to(torch::kFloat16)));
  EXPECT_EQ(m.at("bf16").scalar_type(), torch::kBFloat16);
  EXPECT_EQ(m.at("bf16").item<float>(), 1.f);
  EXPECT_EQ(m.at("f64").scalar_type(), torch::kFloat64);
  EXPECT_EQ(m.at("f64").item<double>(), 2.5);
}

TEST(Checkpoint, ModulePrefixIsStrippedOnlyWhenOnEveryKey) {
  const std::string data = float_bytes(iota_floats(4));
  const TensorMap m = load(torch_zip(state_dict_pickle({
                                         {"module.conv.weight", "FloatStorage", "0", 4, 0, {2, 2}, {2, 1}, {}},
                                         {"module.conv.bias", "FloatStorage", "0", 4, 2, {2}, {1}, {}},
                                     }),
                                     {{"0", data}}));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_TRUE(m.count("conv.weight"));
  EXPECT_TRUE(m.count("conv.bias"));
  EXPECT_TRUE(torch::equal(m.at("conv.bias"), torch::tensor({2.f, 3.f})));

  const TensorMap mixed = load(torch_zip(state_dict_pickle({
                                             {"module.a", "FloatStorage", "0", 4, 0, {2}, {1}, {}},
                                             {"b", "FloatStorage", "0", 4, 2, {2}, {1}, {}},
                                         }),
                                         {{"0", data}}));
  EXPECT_TRUE(mixed.count("module.a"));
  EXPECT_TRUE(mixed.count("b"));
}

// {outer_key: {name: tensor}, 'epoch': 3, ...}
std::string nested_pickle(const std::string& outer_key, const std::vector<std::string>& extra_keys) {
  Pickle p;
  p.op('}').mark();
  for (const auto& k : extra_keys) p.str(k).integer(3);
  p.str(outer_key).op('}').str("w");
  write_tensor(p, {"w", "FloatStorage", "0", 1, 0, {1}, {1}, {}}, false);
  p.op('s').op('u').stop();
  return p.bytes();
}

TEST(Checkpoint, PicksTheStateDict) {
  const std::string data = float_bytes({1.f});
  for (const char* key : {"state_dict", "g_ema", "params_ema", "params"}) {
    const TensorMap m = load(torch_zip(nested_pickle(key, {"epoch"}), {{"0", data}}));
    ASSERT_EQ(m.size(), 1u) << key;
    EXPECT_TRUE(m.count("w")) << key;
  }
  const std::string msg = load_error(torch_zip(nested_pickle("generator", {"epoch", "optimizer"}), {{"0", data}}), "ckpt.pth");
  EXPECT_TRUE(starts_with(msg, "ckpt.pth: no state_dict found")) << msg;
  EXPECT_NE(msg.find("'epoch', 'optimizer', 'generator'"), std::string::npos) << msg;

  const std::string list = Pickle().op(']').stop().bytes();
  EXPECT_NE(load_error(torch_zip(list, {})).find("holds a list"), std::string::npos);
}

TEST(Checkpoint, LegacyViewsAndChecks) {
  // A root storage of 8 floats; a view of 4 elements from element 2; a tensor
  // of 3 elements from element 1 of the view.
  TensorSpec viewed{"v", "FloatStorage", "root", 8, 1, {3}, {1}, std::make_tuple("view", 2, 4)};
  TensorSpec whole{"w", "FloatStorage", "root", 8, 0, {2, 4}, {4, 1}, {}};
  const std::string pkl = state_dict_pickle({viewed, whole}, true);
  const TensorMap m = load(legacy_file(pkl, {{"root", 8, float_bytes(iota_floats(8))}}));
  EXPECT_TRUE(torch::equal(m.at("v"), torch::tensor({3.f, 4.f, 5.f})));
  EXPECT_TRUE(torch::equal(m.at("w"), torch::arange(8, torch::kFloat32).view({2, 4})));

  // The tensor overruns its view (though not the root storage).
  TensorSpec overrun = viewed;
  overrun.sizes = {4};
  EXPECT_NE(load_error(legacy_file(state_dict_pickle({overrun}, true), {{"root", 8, float_bytes(iota_floats(8))}}))
                .find("goes outside"),
            std::string::npos);
  // The view overruns the root storage.
  TensorSpec bad_view = viewed;
  bad_view.view = std::make_tuple("view", 6, 4);
  EXPECT_NE(load_error(legacy_file(state_dict_pickle({bad_view}, true), {{"root", 8, float_bytes(iota_floats(8))}}))
                .find("goes outside storage"),
            std::string::npos);
  // Counts that disagree with the pickle, data for unknown or missing keys.
  EXPECT_THROW(load(legacy_file(pkl, {{"root", 7, float_bytes(iota_floats(7))}})), CheckpointError);
  EXPECT_THROW(load(legacy_file(pkl, {{"other", 8, float_bytes(iota_floats(8))}})), CheckpointError);
  EXPECT_NE(load_error(legacy_file(pkl, {})).find("has no data"), std::string::npos);
  EXPECT_THROW(load(legacy_file(pkl, {{"root", 8, float_bytes(iota_floats(8))}, {"root", 8, float_bytes(iota_floats(8))}})),
               CheckpointError);
  // Big-endian files.
  EXPECT_NE(load_error(legacy_file(pkl, {{"root", 8, float_bytes(iota_floats(8))}}, false)).find("big-endian"),
            std::string::npos);
}

// --- hostile files ----------------------------------------------------------------

TEST(Hostile, GlobalOsSystemIsRefused) {
  const std::string pkl = Pickle().global("os", "system").mark().str("touch /tmp/pwned").tuple().reduce().stop().bytes();
  const std::string msg = load_error(torch_zip(pkl, {}), "models/x.pth");
  EXPECT_EQ(msg, "models/x.pth: refusing to load 'os system': only tensors and plain containers are allowed");
  // Same in a legacy file, and through STACK_GLOBAL (protocol 4).
  EXPECT_NE(load_error(legacy_file(pkl, {})).find("'os system'"), std::string::npos);
  const std::string stack_global = Pickle().str("builtins").str("eval").op('\x93').stop().bytes();
  EXPECT_NE(load_error(torch_zip(stack_global, {})).find("refusing to load 'builtins eval'"), std::string::npos);
  // Allowed globals are not callable unless they are meant to be.
  const std::string call_storage = Pickle().global("torch", "FloatStorage").op(')').reduce().stop().bytes();
  EXPECT_NE(load_error(torch_zip(call_storage, {})).find("not supported"), std::string::npos);
  // A pickled module in a legacy file.
  const std::string module = Pickle().mark().str("module").str("x").tuple().op('Q').stop().bytes();
  EXPECT_NE(load_error(legacy_file(module, {})).find("module"), std::string::npos);
}

TEST(Hostile, TensorOutsideItsStorageIsRefused) {
  const std::string data = float_bytes(iota_floats(4));
  const std::vector<TensorSpec> bad = {
      {"too_big", "FloatStorage", "0", 4, 0, {5}, {1}, {}},
      {"bad_stride", "FloatStorage", "0", 4, 0, {2, 2}, {2, 2}, {}},
      {"bad_offset", "FloatStorage", "0", 4, 4, {1}, {1}, {}},
      {"empty_past_end", "FloatStorage", "0", 4, 5, {0}, {1}, {}},
      {"huge", "FloatStorage", "0", 4, 0, {INT64_MAX, INT64_MAX}, {INT64_MAX, INT64_MAX}, {}},
      {"wrap", "FloatStorage", "0", 4, 3, {2}, {INT64_MAX}, {}},
  };
  for (const TensorSpec& t : bad) {
    const std::string msg = load_error(torch_zip(state_dict_pickle({t}), {{"0", data}}), "x.pth");
    EXPECT_TRUE(starts_with(msg, "x.pth: tensor '" + t.name + "'")) << msg;
  }
  // Negative sizes, strides and offsets.
  for (const TensorSpec& t : std::vector<TensorSpec>{{"neg_size", "FloatStorage", "0", 4, 0, {-1}, {1}, {}},
                                                      {"neg_stride", "FloatStorage", "0", 4, 3, {2}, {-1}, {}},
                                                      {"neg_offset", "FloatStorage", "0", 4, -1, {1}, {1}, {}}}) {
    EXPECT_NE(load_error(torch_zip(state_dict_pickle({t}), {{"0", data}})).find("negative"), std::string::npos) << t.name;
  }
  // Storage claims more than its entry holds.
  EXPECT_NE(load_error(torch_zip(state_dict_pickle({{"w", "FloatStorage", "0", 5, 0, {5}, {1}, {}}}), {{"0", data}}))
                .find("claims 20 bytes"),
            std::string::npos);
  // Storage entry missing.
  EXPECT_NE(load_error(torch_zip(state_dict_pickle({{"w", "FloatStorage", "1", 4, 0, {4}, {1}, {}}}), {{"0", data}}))
                .find("missing"),
            std::string::npos);
}

TEST(Hostile, HugeStorageIsRefusedBeforeAllocating) {
  const std::int64_t numel = 25'000'000'000;  // 100 GB of floats
  const TensorSpec t{"w", "FloatStorage", "0", numel, 0, {numel}, {1}, {}};
  const std::string zip_msg = load_error(torch_zip(state_dict_pickle({t}), {{"0", float_bytes(iota_floats(4))}}));
  EXPECT_NE(zip_msg.find("claims 100000000000 bytes"), std::string::npos) << zip_msg;
  const std::string legacy_msg = load_error(legacy_file(state_dict_pickle({t}, true), {{"0", numel, ""}}));
  EXPECT_NE(legacy_msg.find("claims 100000000000 bytes"), std::string::npos) << legacy_msg;
  // Sizes that overflow when multiplied by the element size.
  const TensorSpec overflow{"w", "DoubleStorage", "0", INT64_MAX / 4, 0, {1}, {1}, {}};
  EXPECT_NE(load_error(torch_zip(state_dict_pickle({overflow}), {{"0", "12345678"}})).find("impossible size"),
            std::string::npos);
}

TEST(Hostile, OverlappingViewsCannotMultiplyMemory) {
  // 10,000 tensors, each viewing the whole of one 1 MB storage: 10 GB.
  const int n = 10000;
  std::vector<TensorSpec> views;
  for (int i = 0; i < n; ++i) views.push_back({"t" + std::to_string(i), "ByteStorage", "0", 1 << 20, 0, {1 << 20}, {1}, {}});
  const std::string msg = load_error(torch_zip(state_dict_pickle(views), {{"0", std::string(1 << 20, '\1')}}));
  EXPECT_NE(msg.find("more memory than the file holds"), std::string::npos) << msg;
}

TEST(Hostile, ZipArchiveChecks) {
  const std::string pkl = state_dict_pickle({{"w", "FloatStorage", "0", 1, 0, {1}, {1}, {}}});
  const std::string data = float_bytes({1.f});
  // A compressed entry: refused, naming the method and the entry.
  const std::string deflated = make_zip({{"archive/data.pkl", pkl}, {"archive/data/0", data, 8}});
  const std::string msg = load_error(deflated, "z.pth");
  EXPECT_TRUE(starts_with(msg, "z.pth: ")) << msg;
  EXPECT_NE(msg.find("'archive/data/0'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("8 (deflate)"), std::string::npos) << msg;

  const std::string good = make_zip({{"archive/data.pkl", pkl}, {"archive/data/0", data}});
  ASSERT_EQ(load(good).size(), 1u);
  const std::size_t eocd = good.size() - 22;

  // An absurd entry count.
  std::string many = good;
  many[eocd + 10] = many[eocd + 11] = '\xff';
  std::string zip64_many = make_zip({{"archive/data.pkl", pkl}, {"archive/data/0", data}}, true);
  const std::size_t record = zip64_many.size() - 22 - 20 - 56;
  for (int i = 0; i < 8; ++i) zip64_many[record + 32 + i] = (i == 3) ? '\x01' : '\0';  // 2^24 entries
  EXPECT_THROW(load(many), CheckpointError);
  EXPECT_NE(load_error(zip64_many).find("entries"), std::string::npos);

  // A directory, or a local header, outside the file.
  std::string far_dir = good;
  far_dir[eocd + 19] = '\x7f';
  EXPECT_NE(load_error(far_dir).find("central directory"), std::string::npos);
  std::string far_entry = good;
  const std::size_t second_entry = far_entry.find(std::string("PK\x01\x02", 4), far_entry.find(std::string("PK\x01\x02", 4)) + 1);
  far_entry[second_entry + 45] = '\x7f';  // local header offset
  EXPECT_NE(load_error(far_entry).find("local header"), std::string::npos);
  // An entry whose size runs past the end.
  std::string long_entry = good;
  long_entry[second_entry + 23] = long_entry[second_entry + 27] = '\x10';
  EXPECT_THROW(load(long_entry), CheckpointError);

  // No data.pkl, a TorchScript archive, a big-endian one.
  EXPECT_NE(load_error(make_zip({{"archive/other.pkl", pkl}})).find("without a data.pkl"), std::string::npos);
  EXPECT_NE(load_error(make_zip({{"archive/data.pkl", pkl}, {"archive/constants.pkl", pkl}})).find("TorchScript"),
            std::string::npos);
  EXPECT_NE(load_error(make_zip({{"archive/data.pkl", pkl}, {"archive/byteorder", "big"}, {"archive/data/0", data}}))
                .find("big-endian"),
            std::string::npos);
  EXPECT_EQ(load(make_zip({{"archive/data.pkl", pkl}, {"archive/byteorder", "little"}, {"archive/data/0", data}})).size(),
            1u);
  // Duplicate entries.
  EXPECT_THROW(load(make_zip({{"archive/data.pkl", pkl}, {"archive/data.pkl", pkl}})), CheckpointError);
}

// Reads a bare pickle; the name is "p".
std::shared_ptr<const gpen::PickleValue> unpickle(const std::string& bytes) {
  std::size_t pos = 0;
  return gpen::read_pickle(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), &pos, "p");
}

std::string unpickle_error(const std::string& bytes) {
  return error_of([&] { unpickle(bytes); });
}

TEST(Hostile, MalformedPicklesAreRefused) {
  const std::string unknown = unpickle_error(std::string("\x80\x02N\xff.", 5));
  EXPECT_EQ(unknown, "p: unknown pickle opcode 0xff at offset 3");
  EXPECT_NE(unpickle_error("\x80\x02\x81.").find("unsupported pickle opcode 0x81"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x09N.").find("protocol"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02.").find("underflow"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02NR.").find("underflow"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02]a.").find("underflow"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02(N0.").find("underflow"), std::string::npos);  // below the MARK
  EXPECT_NE(unpickle_error("\x80\x02Nt.").find("no MARK"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02}NNu.").find("no MARK"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02Nh\x05.").find("memo entry 5"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02j\x01\x02\x03\x04.").find("memo entry"), std::string::npos);
  EXPECT_EQ(unpickle_error("\x80\x02X\xff\xff\x00\x00" "abc"s), "p: truncated pickle at offset 7 (reading BINUNICODE)");
  EXPECT_NE(unpickle_error("\x80\x02N").find("truncated"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02" "cos\nsys").find("truncated"), std::string::npos);
  EXPECT_NE(unpickle_error(std::string("\x80\x02\x8b\xff\xff\xff\x7f", 7)).find("too long"), std::string::npos);
  EXPECT_NE(unpickle_error(std::string("\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\xff", 11)).find("truncated"),
            std::string::npos);
  EXPECT_NE(unpickle_error(std::string("\x80\x02\x95\xff\xff\xff\xff\xff\xff\xff\x7f", 11)).find("truncated"),
            std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02P0\n.").find("PERSID"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02NQ.").find("persistent id"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02}N}s.").find("dict key"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02}(NNNu.").find("odd number"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02NNa.").find("appending on a None"), std::string::npos);
  // BUILD is only accepted (and ignored) on an OrderedDict.
  EXPECT_NE(unpickle_error("\x80\x02}}b.").find("BUILD on a dict"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02]}b.").find("BUILD on a list"), std::string::npos);
  // Self-reference and modifying a container once it is inside another.
  EXPECT_NE(unpickle_error("\x80\x02]q\x00h\x00" "a."s).find("recursive"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02]q\x00\x85h\x00N" "a."s).find("recursive"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02}q\x00]h\x00" "ah\x00K\x01K\x02s."s).find("recursive"), std::string::npos);
  // Nothing but an opcode, and nothing at all.
  EXPECT_NE(unpickle_error("").find("truncated pickle at offset 0"), std::string::npos);
}

TEST(Hostile, DeepNestingIsRefused) {
  const std::string tuples = "\x80\x02N" + std::string(100000, '\x85') + ".";
  EXPECT_NE(unpickle_error(tuples).find("deeper than"), std::string::npos);
  const std::string marks = "\x80\x02" + std::string(100000, '(') + ".";
  EXPECT_NE(unpickle_error(marks).find("MARKs"), std::string::npos);
  const std::string lists = "\x80\x02" + std::string(100000, ']') + std::string(99999, 'a') + ".";
  EXPECT_NE(unpickle_error(lists).find("deeper than"), std::string::npos);
  const std::string dicts = [] {
    std::string s = "\x80\x02}";
    for (int i = 0; i < 10000; ++i) s += "K\x01}";
    for (int i = 0; i < 10000; ++i) s += "s";
    return s + ".";
  }();
  EXPECT_NE(unpickle_error(dicts).find("deeper than"), std::string::npos);
  // Deep nesting in a whole checkpoint.
  EXPECT_NE(load_error(torch_zip(tuples, {})).find("deeper than"), std::string::npos);
  // A stack that grows without bound.
  EXPECT_NE(unpickle_error("\x80\x02N" + std::string(2000000, '2') + ".").find("stack"), std::string::npos);
  // Moderate nesting is fine.
  EXPECT_NO_THROW(unpickle("\x80\x02N" + std::string(200, '\x85') + "."));
}

// The value inside `v`, or a test failure (thrown, so nothing dangles).
template <class T>
const T& as(const gpen::PickleValue* v) {
  const T* p = v ? v->get_if<T>() : nullptr;
  if (!p) throw std::runtime_error("unexpected pickle value: " + (v ? v->type_name() : std::string("none")));
  return *p;
}

TEST(Pickle, ValuesAndContainers) {
  Pickle p;
  p.op('}').mark();
  p.str("ints").op(')');
  p.str("float").op('G').raw("\x3f\xf8\x00\x00\x00\x00\x00\x00"s);
  p.str("bytes").op('C').raw("\x03" "abc");
  p.str("short").raw("\x8c\x02hi");
  p.str("legacy_str").raw("U\x02yo");
  p.str("list").op(']').op('N').op('a').mark().op('\x88').op('\x89').op('e');
  p.integer(7).str("int key");
  p.str("dup").op(')');
  p.str("ints").op('N');  // a repeated key replaces the value, keeping its place
  p.op('u');
  p.raw("\x94").op('2').op('0').op('.');  // MEMOIZE, DUP, POP
  const auto v = unpickle(p.bytes());
  const auto& d = as<gpen::PickleDict>(v.get());
  ASSERT_EQ(d.items.size(), 8u);
  EXPECT_EQ(as<std::string>(d.items[0].first.get()), "ints");
  EXPECT_TRUE(d.items[0].second->get_if<gpen::PickleNone>());
  EXPECT_EQ(as<double>(d.find("float")), 1.5);
  EXPECT_EQ(as<gpen::PickleBytes>(d.find("bytes")).data, "abc");
  EXPECT_EQ(as<std::string>(d.find("short")), "hi");
  EXPECT_EQ(as<std::string>(d.find("legacy_str")), "yo");
  const auto& list = as<gpen::PickleList>(d.find("list"));
  ASSERT_EQ(list.items.size(), 3u);
  EXPECT_TRUE(as<bool>(list.items[1].get()));
  EXPECT_FALSE(as<bool>(list.items[2].get()));
  EXPECT_EQ(as<std::int64_t>(d.items[6].first.get()), 7);
  EXPECT_EQ(as<std::string>(d.items[6].second.get()), "int key");
  EXPECT_EQ(d.find("dup")->type_name(), "tuple");
  EXPECT_EQ(v->depth(), 2);

  // Integers of every encoding.
  Pickle q;
  q.mark().integer(-1).integer(70000).integer(INT64_MIN).op('K').raw("\xff").op('M').raw("\xff\xff")
      .raw("\x8a\x00"s).raw("\x8a\x02\xff\x7f").raw("\x8a\x01\xff").raw("\x8a\x09").raw(std::string(9, '\x7f'))
      .tuple().stop();
  const auto ints_value = unpickle(q.bytes());
  const auto& ints = as<gpen::PickleTuple>(ints_value.get());
  ASSERT_EQ(ints.items.size(), 9u);
  const std::vector<std::int64_t> expected = {-1, 70000, INT64_MIN, 255, 65535, 0, 32767, -1};
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(as<std::int64_t>(ints.items[i].get()), expected[i]) << i;
  EXPECT_EQ(as<gpen::PickleBigInt>(ints.items[8].get()).bytes, std::string(9, '\x7f'));

  // Protocol 4: FRAME, STACK_GLOBAL, MEMOIZE, an OrderedDict with metadata.
  std::string p4 = "\x80\x04\x95";
  put_le(p4, 10, 8);
  p4 += "\x8c\x0b" "collections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94}\x8c\x01x\x4b\x01sb.";
  const auto od = unpickle(p4);
  EXPECT_EQ(od->type_name(), "OrderedDict");
  EXPECT_TRUE(as<gpen::PickleDict>(od.get()).items.empty());

  // The position after STOP, for consecutive pickles.
  const std::string two = "\x80\x02K\x01.\x80\x02K\x02.";
  std::size_t pos = 0;
  gpen::read_pickle(reinterpret_cast<const std::uint8_t*>(two.data()), two.size(), &pos, "p");
  EXPECT_EQ(pos, 5u);
  const auto second = gpen::read_pickle(reinterpret_cast<const std::uint8_t*>(two.data()), two.size(), &pos, "p");
  EXPECT_EQ(as<std::int64_t>(second.get()), 2);
  EXPECT_EQ(pos, two.size());
}

// Pickles written by CPython's own pickler (protocols 2 and 5) for a training
// checkpoint; fake torch classes stood in for the real ones:
//   {'epoch': 3, 'lr': 0.5, 'name': 'x', 'flags': [True, None, b'r\xe9w', b''],
//    'params_ema': OrderedDict(module.a=tensor [2,3] on storage '0' (6 floats),
//                              module.b=[2] at offset 1 stride 3 of '0',
//                              module.c=Parameter(int64 [3] on storage '1')),
//    7: (1, 2)}
// with params_ema._metadata set, as torch.save writes it.
const std::string kCPythonProtocol2 =
    "\x80\x02\x7d\x71\x00\x28\x58\x05\x00\x00\x00\x65\x70\x6f\x63\x68\x71\x01\x4b\x03\x58\x02\x00\x00\x00\x6c\x72\x71\x02\x47\x3f\xe0"
    "\x00\x00\x00\x00\x00\x00\x58\x04\x00\x00\x00\x6e\x61\x6d\x65\x71\x03\x58\x01\x00\x00\x00\x78\x71\x04\x58\x05\x00\x00\x00\x66\x6c"
    "\x61\x67\x73\x71\x05\x5d\x71\x06\x28\x88\x4e\x63\x5f\x63\x6f\x64\x65\x63\x73\x0a\x65\x6e\x63\x6f\x64\x65\x0a\x71\x07\x58\x04\x00"
    "\x00\x00\x72\xc3\xa9\x77\x71\x08\x58\x06\x00\x00\x00\x6c\x61\x74\x69\x6e\x31\x71\x09\x86\x71\x0a\x52\x71\x0b\x63\x5f\x5f\x62\x75"
    "\x69\x6c\x74\x69\x6e\x5f\x5f\x0a\x62\x79\x74\x65\x73\x0a\x71\x0c\x29\x52\x71\x0d\x65\x58\x0a\x00\x00\x00\x70\x61\x72\x61\x6d\x73"
    "\x5f\x65\x6d\x61\x71\x0e\x63\x63\x6f\x6c\x6c\x65\x63\x74\x69\x6f\x6e\x73\x0a\x4f\x72\x64\x65\x72\x65\x64\x44\x69\x63\x74\x0a\x71"
    "\x0f\x29\x52\x71\x10\x28\x58\x08\x00\x00\x00\x6d\x6f\x64\x75\x6c\x65\x2e\x61\x71\x11\x63\x74\x6f\x72\x63\x68\x2e\x5f\x75\x74\x69"
    "\x6c\x73\x0a\x5f\x72\x65\x62\x75\x69\x6c\x64\x5f\x74\x65\x6e\x73\x6f\x72\x5f\x76\x32\x0a\x71\x12\x28\x28\x58\x07\x00\x00\x00\x73"
    "\x74\x6f\x72\x61\x67\x65\x71\x13\x63\x74\x6f\x72\x63\x68\x0a\x46\x6c\x6f\x61\x74\x53\x74\x6f\x72\x61\x67\x65\x0a\x71\x14\x58\x01"
    "\x00\x00\x00\x30\x71\x15\x58\x03\x00\x00\x00\x63\x70\x75\x71\x16\x4b\x06\x74\x71\x17\x51\x4b\x00\x4b\x02\x4b\x03\x86\x71\x18\x4b"
    "\x03\x4b\x01\x86\x71\x19\x89\x68\x0f\x29\x52\x71\x1a\x74\x71\x1b\x52\x71\x1c\x58\x08\x00\x00\x00\x6d\x6f\x64\x75\x6c\x65\x2e\x62"
    "\x71\x1d\x68\x12\x28\x28\x68\x13\x68\x14\x68\x15\x68\x16\x4b\x06\x74\x71\x1e\x51\x4b\x01\x4b\x02\x85\x71\x1f\x4b\x03\x85\x71\x20"
    "\x89\x68\x0f\x29\x52\x71\x21\x74\x71\x22\x52\x71\x23\x58\x08\x00\x00\x00\x6d\x6f\x64\x75\x6c\x65\x2e\x63\x71\x24\x63\x74\x6f\x72"
    "\x63\x68\x2e\x5f\x75\x74\x69\x6c\x73\x0a\x5f\x72\x65\x62\x75\x69\x6c\x64\x5f\x70\x61\x72\x61\x6d\x65\x74\x65\x72\x0a\x71\x25\x68"
    "\x12\x28\x28\x68\x13\x63\x74\x6f\x72\x63\x68\x0a\x4c\x6f\x6e\x67\x53\x74\x6f\x72\x61\x67\x65\x0a\x71\x26\x58\x01\x00\x00\x00\x31"
    "\x71\x27\x68\x16\x4b\x03\x74\x71\x28\x51\x4b\x00\x68\x20\x4b\x01\x85\x71\x29\x89\x68\x0f\x29\x52\x71\x2a\x74\x71\x2b\x52\x71\x2c"
    "\x88\x68\x0f\x29\x52\x71\x2d\x87\x71\x2e\x52\x71\x2f\x75\x7d\x71\x30\x58\x09\x00\x00\x00\x5f\x6d\x65\x74\x61\x64\x61\x74\x61\x71"
    "\x31\x68\x0f\x29\x52\x71\x32\x28\x58\x00\x00\x00\x00\x71\x33\x7d\x71\x34\x58\x07\x00\x00\x00\x76\x65\x72\x73\x69\x6f\x6e\x71\x35"
    "\x4b\x01\x73\x58\x01\x00\x00\x00\x61\x71\x36\x7d\x71\x37\x68\x35\x4b\x02\x73\x75\x73\x62\x4b\x07\x4b\x01\x4b\x02\x86\x71\x38\x75"
    "\x2e"s;
const std::string kCPythonProtocol5 =
    "\x80\x05\x95\xbb\x01\x00\x00\x00\x00\x00\x00\x7d\x94\x28\x8c\x05\x65\x70\x6f\x63\x68\x94\x4b\x03\x8c\x02\x6c\x72\x94\x47\x3f\xe0"
    "\x00\x00\x00\x00\x00\x00\x8c\x04\x6e\x61\x6d\x65\x94\x8c\x01\x78\x94\x8c\x05\x66\x6c\x61\x67\x73\x94\x5d\x94\x28\x88\x4e\x43\x03"
    "\x72\xe9\x77\x94\x43\x00\x94\x65\x8c\x0a\x70\x61\x72\x61\x6d\x73\x5f\x65\x6d\x61\x94\x8c\x0b\x63\x6f\x6c\x6c\x65\x63\x74\x69\x6f"
    "\x6e\x73\x94\x8c\x0b\x4f\x72\x64\x65\x72\x65\x64\x44\x69\x63\x74\x94\x93\x94\x29\x52\x94\x28\x8c\x08\x6d\x6f\x64\x75\x6c\x65\x2e"
    "\x61\x94\x8c\x0c\x74\x6f\x72\x63\x68\x2e\x5f\x75\x74\x69\x6c\x73\x94\x8c\x12\x5f\x72\x65\x62\x75\x69\x6c\x64\x5f\x74\x65\x6e\x73"
    "\x6f\x72\x5f\x76\x32\x94\x93\x94\x28\x28\x8c\x07\x73\x74\x6f\x72\x61\x67\x65\x94\x8c\x05\x74\x6f\x72\x63\x68\x94\x8c\x0c\x46\x6c"
    "\x6f\x61\x74\x53\x74\x6f\x72\x61\x67\x65\x94\x93\x94\x8c\x01\x30\x94\x8c\x03\x63\x70\x75\x94\x4b\x06\x74\x94\x51\x4b\x00\x4b\x02"
    "\x4b\x03\x86\x94\x4b\x03\x4b\x01\x86\x94\x89\x68\x0c\x29\x52\x94\x74\x94\x52\x94\x8c\x08\x6d\x6f\x64\x75\x6c\x65\x2e\x62\x94\x68"
    "\x11\x28\x28\x68\x12\x68\x15\x68\x16\x68\x17\x4b\x06\x74\x94\x51\x4b\x01\x4b\x02\x85\x94\x4b\x03\x85\x94\x89\x68\x0c\x29\x52\x94"
    "\x74\x94\x52\x94\x8c\x08\x6d\x6f\x64\x75\x6c\x65\x2e\x63\x94\x68\x0f\x8c\x12\x5f\x72\x65\x62\x75\x69\x6c\x64\x5f\x70\x61\x72\x61"
    "\x6d\x65\x74\x65\x72\x94\x93\x94\x68\x11\x28\x28\x68\x12\x68\x13\x8c\x0b\x4c\x6f\x6e\x67\x53\x74\x6f\x72\x61\x67\x65\x94\x93\x94"
    "\x8c\x01\x31\x94\x68\x17\x4b\x03\x74\x94\x51\x4b\x00\x68\x21\x4b\x01\x85\x94\x89\x68\x0c\x29\x52\x94\x74\x94\x52\x94\x88\x68\x0c"
    "\x29\x52\x94\x87\x94\x52\x94\x75\x7d\x94\x8c\x09\x5f\x6d\x65\x74\x61\x64\x61\x74\x61\x94\x68\x0c\x29\x52\x94\x28\x8c\x00\x94\x7d"
    "\x94\x8c\x07\x76\x65\x72\x73\x69\x6f\x6e\x94\x4b\x01\x73\x8c\x01\x61\x94\x7d\x94\x68\x38\x4b\x02\x73\x75\x73\x62\x4b\x07\x4b\x01"
    "\x4b\x02\x86\x94\x75\x2e"s;

TEST(Pickle, CPythonPicklerOutput) {
  std::string longs;
  for (std::int64_t v : {std::int64_t{-1}, std::int64_t{0}, std::int64_t{1} << 40}) put_le(longs, static_cast<std::uint64_t>(v), 8);
  for (const std::string* pkl : {&kCPythonProtocol2, &kCPythonProtocol5}) {
    const TensorMap m = load(torch_zip(*pkl, {{"0", float_bytes(iota_floats(6))}, {"1", longs}}));
    ASSERT_EQ(m.size(), 3u);
    EXPECT_TRUE(torch::equal(m.at("a"), torch::arange(6, torch::kFloat32).view({2, 3})));
    EXPECT_TRUE(torch::equal(m.at("b"), torch::tensor({1.f, 4.f})));
    EXPECT_TRUE(torch::equal(m.at("c"), torch::tensor({std::int64_t{-1}, std::int64_t{0}, std::int64_t{1} << 40})));

    std::size_t pos = 0;
    const gpen::PersistentLoad storage = [](const gpen::PickleValue&) {
      return std::make_shared<gpen::PickleValue>(gpen::PickleStorage{0});
    };
    const auto top = gpen::read_pickle(reinterpret_cast<const std::uint8_t*>(pkl->data()), pkl->size(), &pos, "p", storage);
    EXPECT_EQ(pos, pkl->size());
    const auto& d = as<gpen::PickleDict>(top.get());
    ASSERT_EQ(d.items.size(), 6u);
    EXPECT_EQ(as<std::int64_t>(d.find("epoch")), 3);
    EXPECT_EQ(as<double>(d.find("lr")), 0.5);
    EXPECT_EQ(as<std::string>(d.find("name")), "x");
    const auto& flags = as<gpen::PickleList>(d.find("flags"));
    ASSERT_EQ(flags.items.size(), 4u);
    EXPECT_EQ(as<gpen::PickleBytes>(flags.items[2].get()).data, "r\xe9w");
    EXPECT_EQ(as<gpen::PickleBytes>(flags.items[3].get()).data, "");
    EXPECT_EQ(as<std::int64_t>(d.items[5].first.get()), 7);
    EXPECT_EQ(as<gpen::PickleTuple>(d.items[5].second.get()).items.size(), 2u);
    const auto& sd = as<gpen::PickleDict>(d.find("params_ema"));
    EXPECT_TRUE(sd.ordered);
    const auto& t = as<gpen::PickleTensor>(sd.find("module.b"));
    EXPECT_EQ(t.offset, 1);
    EXPECT_EQ(t.sizes, (std::vector<std::int64_t>{2}));
    EXPECT_EQ(t.strides, (std::vector<std::int64_t>{3}));
  }
}

TEST(Zip, Crc32) {
  const std::string s = "123456789";
  EXPECT_EQ(gpen::crc32({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}), 0xcbf43926u);
  const std::string z;
  EXPECT_EQ(gpen::crc32({reinterpret_cast<const std::uint8_t*>(z.data()), 0}), 0u);
}

}  // namespace
