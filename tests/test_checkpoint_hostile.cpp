// The checkpoint reader as an attack surface: files made to run code, to
// allocate far more than they hold, to read past their end, or to burn CPU.
// Each must be refused with a CheckpointError, before the damage is done.
// Also: the fuzzer's regression inputs and its hand-made seeds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint_test_util.h"

namespace {

using namespace checkpoint_test;
namespace fs = std::filesystem;

// Loads from a buffer of exactly `bytes.size()` bytes on the heap, so that
// AddressSanitizer sees any read past the end (a std::string has a spare NUL).
TensorMap load_exact(const std::string& bytes) {
  const std::vector<std::uint8_t> exact(bytes.begin(), bytes.end());
  return gpen::load_checkpoint_from_memory(exact.data(), exact.size(), "test.pth");
}

std::string load_exact_error(const std::string& bytes) {
  return error_of([&] { load_exact(bytes); });
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string short_binunicode(const std::string& s) {
  return "\x8c"s + static_cast<char>(s.size()) + s;
}

// --- no code execution ----------------------------------------------------------

// Callables an attacker reaches for, and near misses of the allowed names.
const std::vector<std::pair<std::string, std::string>> kForbiddenGlobals = {
    {"os", "system"},           {"posix", "system"},        {"nt", "system"},
    {"subprocess", "Popen"},    {"subprocess", "run"},      {"builtins", "eval"},
    {"builtins", "exec"},       {"builtins", "getattr"},    {"builtins", "__import__"},
    {"builtins", "open"},       {"__builtin__", "eval"},    {"__builtin__", "apply"},
    {"runpy", "_run_code"},     {"pickle", "loads"},        {"functools", "partial"},
    {"collections", "defaultdict"}, {"numpy.core.multiarray", "_reconstruct"},
    {"torch", "load"},          {"torch.nn.modules.conv", "Conv2d"},
    {"torch._utils", "_rebuild_from_type_v2"}, {"torch._utils", "_rebuild_tensor_v3"},
    {"torch", "FloatStorage "}, {"torch ", "FloatStorage"}, {"Torch", "FloatStorage"},
    {"collections", "OrderedDict\r"}, {"torch._utils.", "_rebuild_tensor_v2"},
};

TEST(NoCodeExecution, ForbiddenGlobalsAreRefusedInEveryForm) {
  for (const auto& [module, name] : kForbiddenGlobals) {
    const std::string expected = "refusing to load '" + gpen::printable_text(module) + " " +
                                 gpen::printable_text(name) + "'";
    const std::string global = Pickle().global(module, name).mark().str("id").tuple().reduce().stop().bytes();
    // Protocol 4 names globals with STACK_GLOBAL from two strings.
    const std::string stack_global =
        "\x80\x04" + short_binunicode(module) + short_binunicode(name) + "\x93" + ")R.";
    for (const std::string& file : {torch_zip(global, {}), torch_zip(stack_global, {}), legacy_file(global, {})}) {
      const std::string msg = load_exact_error(file);
      EXPECT_TRUE(contains(msg, expected)) << module << "." << name << ": " << msg;
    }
  }
}

TEST(NoCodeExecution, PayloadsDoNotRun) {
  const fs::path marker = fs::path(testing::TempDir()) / "gpen-pickle-payload-ran";
  fs::remove(marker);
  const std::string shell = "touch " + marker.string();
  const std::string python = "open('" + marker.string() + "', 'w')";
  // A bare call, and the same hidden inside a state_dict after a valid tensor.
  const auto payloads = [&](bool legacy) {
    Pickle hidden;
    hidden.op('}').mark().str("w");
    write_tensor(hidden, {"w", "FloatStorage", "0", 1, 0, {1}, {1}, {}}, legacy);
    hidden.str("x").global("os", "system").mark().str(shell).tuple().reduce().op('u').stop();
    return std::vector<std::string>{
        Pickle().global("os", "system").mark().str(shell).tuple().reduce().stop().bytes(),
        Pickle().global("builtins", "exec").mark().str(python).tuple().reduce().stop().bytes(),
        hidden.bytes()};
  };
  for (const std::string& pkl : payloads(false)) {
    EXPECT_TRUE(contains(load_exact_error(torch_zip(pkl, {{"0", float_bytes({1.f})}})), "refusing to load"));
  }
  for (const std::string& pkl : payloads(true)) {
    EXPECT_TRUE(contains(load_exact_error(legacy_file(pkl, {{"0", 1, float_bytes({1.f})}})), "refusing to load"));
  }
  EXPECT_FALSE(fs::exists(marker));
}

TEST(NoCodeExecution, ObjectBuildingOpcodesAreRefused) {
  // INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT1/2/4 build objects or look up globals
  // by other routes; the text and set/buffer opcodes are never in torch files.
  const std::vector<std::string> ops = {
      "ios\nsystem\n", "(No", "\x81", "\x92", "\x82\x01", "\x83\x01\x00", "\x84\x01\x00\x00\x00",
      "P0\n", "I1\n", "L1L\n", "S'a'\n", "F1.0\n", "Va\n", "\x8f", "\x91", "\x90", "\x97", "\x98",
      "\x96\x01\x00\x00\x00\x00\x00\x00\x00x"};
  for (const std::string& op : ops) {
    const std::string msg = load_exact_error(torch_zip("\x80\x02N" + op + ".", {}));
    EXPECT_TRUE(contains(msg, "unsupported pickle opcode")) << gpen::printable_text(op) << ": " << msg;
  }
}

TEST(NoCodeExecution, AllowedGlobalsAreOnlyUsedAsIntended) {
  const auto refused = [](const std::string& pkl, const std::string& why) {
    const std::string msg = load_exact_error(torch_zip(pkl, {{"0", float_bytes({1.f})}}));
    EXPECT_TRUE(contains(msg, why)) << msg;
  };
  // Storage types and dtypes are values, not callables.
  for (const char* name : {"FloatStorage", "LongStorage", "BoolStorage", "float32", "bool"}) {
    refused(Pickle().global("torch", name).op(')').reduce().stop().bytes(), "not supported");
  }
  // OrderedDict() only without arguments (no items smuggled in through a call).
  refused(Pickle().global("collections", "OrderedDict").mark().op(']').tuple().reduce().stop().bytes(),
          "called with 1 arguments");
  // A tensor must be rebuilt from a storage the loader made.
  refused(Pickle().global("torch._utils", "_rebuild_tensor_v2").mark().str("storage").integer(0)
              .int_tuple({1}).int_tuple({1}).op('\x89').op('N').tuple().reduce().stop().bytes(),
          "instead of a storage");
  refused(Pickle().global("torch._utils", "_rebuild_parameter").mark().str("x").op('\x88').op('N').tuple()
              .reduce().stop().bytes(),
          "parameter built from a str");
  refused(Pickle().global("_codecs", "encode").mark().str("x").str("rot13").tuple().reduce().stop().bytes(),
          "unsupported _codecs.encode call");
  refused(Pickle().global("builtins", "bytes").mark().integer(1 << 30).tuple().reduce().stop().bytes(),
          "called with 1 arguments");
  // BUILD (setting attributes) only on an OrderedDict, where it is dropped.
  refused(Pickle().op(']').op('}').str("__class__").str("os").op('s').op('b').stop().bytes(), "BUILD on a list");
  Pickle build;
  build.global("collections", "OrderedDict").op(')').reduce().str("w");
  write_tensor(build, {"w", "FloatStorage", "0", 1, 0, {1}, {1}, {}}, false);
  build.op('s').op('}').str("__setstate__").str("x").op('s').op('b').stop();
  const TensorMap m = load_exact(torch_zip(build.bytes(), {{"0", float_bytes({1.f})}}));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m.at("w").item<float>(), 1.f);
}

// --- bounded allocation ---------------------------------------------------------------

TEST(BoundedAllocation, HugeTensorsAreRefusedBeforeAllocating) {
  // Views of a 4-byte storage that would take 100 GB once made contiguous.
  const std::vector<TensorSpec> huge = {
      {"expanded", "FloatStorage", "0", 1, 0, {25'000'000'000}, {0}, {}},
      {"cube", "FloatStorage", "0", 1, 0, {100'000, 100'000, 2'500}, {0, 0, 0}, {}},
      {"many_dims", "FloatStorage", "0", 1, 0, std::vector<std::int64_t>(40, 4), std::vector<std::int64_t>(40, 0), {}},
  };
  for (const TensorSpec& t : huge) {
    for (const std::string& file : {torch_zip(state_dict_pickle({t}), {{"0", float_bytes({1.f})}}),
                                     legacy_file(state_dict_pickle({t}, true), {{"0", 1, float_bytes({1.f})}})}) {
      const std::string msg = load_exact_error(file);
      EXPECT_TRUE(contains(msg, "tensor '" + t.name + "': the tensors add up to far more memory than the file holds"))
          << msg;
    }
  }
  // Storages that claim 100 GB: the zip entry or the legacy file must hold them.
  const std::int64_t numel = 25'000'000'000;
  const TensorSpec big{"w", "FloatStorage", "0", numel, 0, {1}, {1}, {}};
  EXPECT_TRUE(contains(load_exact_error(torch_zip(state_dict_pickle({big}), {{"0", float_bytes({1.f})}})),
                       "claims 100000000000 bytes but its entry holds 4"));
  EXPECT_TRUE(contains(load_exact_error(legacy_file(state_dict_pickle({big}, true), {{"0", numel, "1234"}})),
                       "more than the whole"));
  // A legacy view claiming more than its root.
  TensorSpec view{"v", "FloatStorage", "0", 4, 0, {1}, {1}, std::make_tuple("v", 0, numel)};
  EXPECT_TRUE(contains(load_exact_error(legacy_file(state_dict_pickle({view}, true), {{"0", 4, float_bytes(iota_floats(4))}})),
                       "goes outside storage"));
}

// A pickle that copies a memoized `size`-byte string `copies` times: as the
// key of new dicts, or through _codecs.encode, kept in a list.
std::string copying_pickle(bool dict_keys, std::size_t size, int copies) {
  std::string p = "\x80\x02";
  if (!dict_keys) p += "c_codecs\nencode\nq\x01" "0"s;
  p += "X";
  put_le(p, size, 4);
  p += std::string(size, 'k') + "q\x00" "0"s;
  if (!dict_keys) p += "\x8c\x06latin1q\x02" "0"s;
  p += "]";
  for (int i = 0; i < copies; ++i) p += dict_keys ? "}h\x00Nsa"s : "h\x01h\x00h\x02\x86Ra"s;
  return p + ".";
}

std::string unpickle_error(const std::string& bytes, const gpen::PickleLimits& limits) {
  return error_of([&] {
    std::size_t pos = 0;
    gpen::read_pickle(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), &pos, "p", {}, 0, limits);
  });
}

bool unpickles(const std::string& bytes, const gpen::PickleLimits& limits) {
  std::size_t pos = 0;
  gpen::read_pickle(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), &pos, "p", {}, 0, limits);
  return pos == bytes.size();
}

TEST(BoundedAllocation, PickleMemoryIsCapped) {
  gpen::PickleLimits limits;
  limits.max_bytes = 1 << 20;
  for (bool dict_keys : {true, false}) {
    // 8 copies of 64 KiB fit in 1 MiB; 32 copies do not, though the file is
    // the same size but for 144 bytes.
    EXPECT_TRUE(unpickles(copying_pickle(dict_keys, 64 << 10, 8), limits));
    EXPECT_TRUE(contains(unpickle_error(copying_pickle(dict_keys, 64 << 10, 32), limits),
                         "pickle needs more than 1 MiB of memory to unpickle"));
    // With the default limit (64 MiB), in a checkpoint: 256 MiB from 64 KiB.
    EXPECT_TRUE(contains(load_exact_error(torch_zip(copying_pickle(dict_keys, 64 << 10, 4096), {})),
                         "more than 64 MiB of memory"));
  }
  // Values made from single opcode bytes: None after None in a list.
  EXPECT_TRUE(unpickles("\x80\x02](" + std::string(1000, 'N') + "e.", limits));
  EXPECT_TRUE(contains(unpickle_error("\x80\x02](" + std::string(100000, 'N') + "e.", limits), "MiB of memory"));
}

TEST(BoundedAllocation, RepeatedTensorRebuildsAreCapped) {
  // _rebuild_tensor(storage, 0, <64 ones>, <64 zeros>) again and again from
  // memoized arguments: 6 bytes of opcodes for ~1 KiB of sizes and strides.
  Pickle p;
  p.global("torch._utils", "_rebuild_tensor").raw("q\x01").op('0').mark();
  p.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(1).tuple().op('Q');
  p.integer(0).int_tuple(std::vector<std::int64_t>(64, 1)).int_tuple(std::vector<std::int64_t>(64, 0)).tuple();
  p.raw("q\x02").op('0').op(']');
  Pickle few = p, many = p;
  for (int i = 0; i < 100; ++i) few.raw("h\x01h\x02Ra");
  for (int i = 0; i < 80000; ++i) many.raw("h\x01h\x02Ra");
  const std::string few_msg = load_exact_error(torch_zip(few.stop().bytes(), {{"0", float_bytes({1.f})}}));
  EXPECT_TRUE(contains(few_msg, "holds a list")) << few_msg;  // unpickled, then refused as no state_dict
  const std::string many_msg = load_exact_error(torch_zip(many.stop().bytes(), {{"0", float_bytes({1.f})}}));
  EXPECT_TRUE(contains(many_msg, "more than 64 MiB of memory")) << many_msg;
}

// --- truncated storages -----------------------------------------------------------------

TEST(TruncatedStorages, LegacyStorageCutAnywhereIsRefused) {
  const std::string pkl = state_dict_pickle({{"w", "FloatStorage", "0", 8, 0, {8}, {1}, {}}}, true);
  const std::string whole = legacy_file(pkl, {{"0", 8, float_bytes(iota_floats(8))}});
  ASSERT_EQ(load_exact(whole).at("w").size(0), 8);
  const std::size_t data_start = whole.size() - 8 * 4 - 8;  // the count, then the floats
  for (std::size_t cut = data_start; cut < whole.size(); ++cut) {
    const std::string msg = load_exact_error(whole.substr(0, cut));
    EXPECT_TRUE(contains(msg, "truncated file at offset")) << cut << ": " << msg;
  }
}

TEST(TruncatedStorages, ZipEntryShorterThanItsStorageIsRefused) {
  const std::string pkl = state_dict_pickle({{"w", "FloatStorage", "0", 8, 0, {8}, {1}, {}}});
  const std::string data = float_bytes(iota_floats(8));
  for (std::size_t n = 0; n < data.size(); ++n) {
    const std::string msg = load_exact_error(torch_zip(pkl, {{"0", data.substr(0, n)}}));
    EXPECT_TRUE(contains(msg, "claims 32 bytes but its entry holds " + std::to_string(n))) << msg;
  }
  // A whole archive cut anywhere in its last entry or directory.
  const std::string whole = torch_zip(pkl, {{"0", data}});
  for (std::size_t cut = whole.size() - 200; cut < whole.size(); ++cut) {
    EXPECT_THROW(load_exact(whole.substr(0, cut)), CheckpointError) << cut;
  }
}

// --- zip bombs and absurd archives ------------------------------------------------------------

const std::string kPkl = state_dict_pickle({{"w", "FloatStorage", "0", 1, 0, {1}, {1}, {}}});
const std::string kData = float_bytes({1.f});

// Offset of the n-th central directory entry of `zip`.
std::size_t central_entry(const std::string& zip, int n) {
  std::size_t pos = zip.find("PK\x01\x02"s);
  for (int i = 0; i < n; ++i) pos = zip.find("PK\x01\x02"s, pos + 1);
  return pos;
}

void set_le(std::string& s, std::size_t pos, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s[pos + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

TEST(ZipBombs, CompressedEntriesAreRefused) {
  for (std::uint16_t method : {1, 6, 8, 9, 12, 14, 93, 95, 98, 99}) {
    const std::string msg = load_exact_error(make_zip({{"archive/data.pkl", kPkl}, {"archive/data/0", kData, method}}));
    EXPECT_TRUE(contains(msg, "'archive/data/0' uses compression method " + std::to_string(method))) << msg;
  }
  // Stored in the central directory but deflated in the local header.
  std::string local_deflate = make_zip({{"archive/data.pkl", kPkl}, {"archive/data/0", kData}});
  set_le(local_deflate, local_deflate.find("PK\x03\x04"s, 1) + 8, 8, 2);
  EXPECT_TRUE(contains(load_exact_error(local_deflate), "uses compression method 8 (deflate)"));
  // Encrypted.
  std::string encrypted = make_zip({{"archive/data.pkl", kPkl}, {"archive/data/0", kData}});
  set_le(encrypted, central_entry(encrypted, 1) + 8, 1, 2);
  EXPECT_TRUE(contains(load_exact_error(encrypted), "is encrypted"));
}

TEST(ZipBombs, OversizedEntriesAreRefused) {
  const std::string good = make_zip({{"archive/data.pkl", kPkl}, {"archive/data/0", kData}});
  ASSERT_EQ(load_exact(good).size(), 1u);
  // 4 GB (both sizes, so that it looks stored) in a file of a few hundred bytes.
  std::string big = good;
  set_le(big, central_entry(big, 1) + 20, 0xfffffff0, 4);
  set_le(big, central_entry(big, 1) + 24, 0xfffffff0, 4);
  EXPECT_TRUE(contains(load_exact_error(big), "goes past the end"));
  // ZIP64 sizes of 2^62 bytes.
  std::string big64 = make_zip({{"archive/data.pkl", kPkl}, {"archive/data/0", kData}}, true);
  const std::size_t extra = central_entry(big64, 1) + 46 + std::string("archive/data/0").size();
  set_le(big64, extra + 4, std::uint64_t{1} << 62, 8);
  set_le(big64, extra + 12, std::uint64_t{1} << 62, 8);
  EXPECT_TRUE(contains(load_exact_error(big64), "goes past the end"));
  // A stored entry whose two sizes differ (a compressed entry in disguise).
  std::string differ = good;
  set_le(differ, central_entry(differ, 1) + 24, 400, 4);
  EXPECT_TRUE(contains(load_exact_error(differ), "two different sizes"));
}

// `count` central entries that all point at one local entry of `data_size`
// bytes: the "overlapping files" zip bomb.
std::string overlapping_zip(int count, std::size_t data_size) {
  const std::string one = make_zip({{"archive/data/0", std::string(data_size, '\1')}});
  const std::size_t dir = central_entry(one, 0);
  std::string out = one.substr(0, dir), entries;
  for (int i = 0; i < count; ++i) {
    const std::string name = "archive/data/" + std::to_string(i);
    std::string e = one.substr(dir, 46);
    set_le(e, 28, name.size(), 2);
    entries += e + name;
  }
  const std::size_t dir_offset = out.size();
  out += entries;
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 4);
  put_le(out, count, 2);
  put_le(out, count, 2);
  put_le(out, entries.size(), 4);
  put_le(out, dir_offset, 4);
  put_le(out, 0, 2);
  return out;
}

TEST(ZipBombs, OverlappingEntriesAreRefused) {
  // 1000 entries over one 4 MB span: 4 GB of CRC-32 before the check.
  const std::string msg = load_exact_error(overlapping_zip(1000, 4 << 20));
  EXPECT_TRUE(contains(msg, "entries 'archive/data/0' and 'archive/data/1' overlap")) << msg;
  EXPECT_TRUE(contains(load_exact_error(overlapping_zip(2, 0)), "overlap"));
  // An entry whose local header lies inside another entry's data.
  const std::string inner = make_zip({{"archive/data/0", kData}});
  std::string nested = make_zip({{"archive/outer", inner}, {"archive/data/0", kData}});
  set_le(nested, central_entry(nested, 1) + 42, 30 + std::string("archive/outer").size() + 3, 4);
  EXPECT_TRUE(contains(load_exact_error(nested), "entries 'archive/outer' and 'archive/data/0' overlap"));
  // Entries that only touch are fine.
  EXPECT_EQ(load_exact(make_zip({{"archive/data.pkl", kPkl}, {"archive/data/0", kData}})).size(), 1u);
}

TEST(ZipBombs, AbsurdEntryCountsAreRefused) {
  const std::string good = make_zip({{"archive/data.pkl", kPkl}, {"archive/data/0", kData}});
  const std::size_t eocd = good.size() - 22;
  std::string many = good;
  set_le(many, eocd + 8, 0xffff, 2);
  set_le(many, eocd + 10, 0xffff, 2);
  EXPECT_TRUE(contains(load_exact_error(many), "65535 entries cannot fit"));

  const std::string good64 = make_zip({{"archive/data.pkl", kPkl}, {"archive/data/0", kData}}, true);
  const std::size_t record = good64.size() - 22 - 20 - 56;
  for (std::uint64_t count : {std::uint64_t{1000001}, std::uint64_t{1} << 40, ~std::uint64_t{0}}) {
    std::string absurd = good64;
    set_le(absurd, record + 32, count, 8);
    const std::string msg = load_exact_error(absurd);
    EXPECT_TRUE(contains(msg, "claims " + std::to_string(count) + " entries")) << msg;
  }
  // A directory of 2^63 bytes.
  std::string huge_dir = good64;
  set_le(huge_dir, record + 40, std::uint64_t{1} << 63, 8);
  EXPECT_TRUE(contains(load_exact_error(huge_dir), "central directory"));
}

// --- the fuzzer's inputs --------------------------------------------------------------------

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() != ".md") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(FuzzRegressions, EveryFileIsRefusedCleanly) {
  const std::vector<fs::path> files = files_in(fs::path(GPEN_TEST_DATA_DIR) / "fuzz-regressions");
  ASSERT_GE(files.size(), 3u);
  for (const fs::path& file : files) {
    const std::string msg = error_of([&] { gpen::load_checkpoint(file.string()); });
    EXPECT_TRUE(starts_with(msg, file.string() + ": ")) << msg;
  }
}

TEST(FuzzSeeds, HandMadeSeedsLoad) {
  const fs::path dir = fs::path(GPEN_FUZZ_SEED_DIR) / "checkpoint";
  const std::vector<fs::path> files = files_in(dir);
  ASSERT_GE(files.size(), 7u);
  const TensorMap zip = gpen::load_checkpoint((dir / "zip-state-dict.pth").string());
  ASSERT_EQ(zip.size(), 6u);
  EXPECT_TRUE(torch::equal(zip.at("conv.weight"), torch::arange(12, torch::kFloat32).view({2, 2, 3})));
  EXPECT_TRUE(torch::equal(zip.at("conv.bias"), torch::tensor({1.f, 4.f})));
  EXPECT_EQ(zip.at("scale").item<float>(), 11.f);
  EXPECT_TRUE(torch::equal(zip.at("steps"), torch::tensor({std::int64_t{-5}, std::int64_t{7}, std::int64_t{1} << 40})));
  EXPECT_TRUE(torch::equal(zip.at("mask"), torch::tensor({true, false})));
  EXPECT_TRUE(torch::equal(zip.at("half"), torch::tensor({{1.f}, {-2.f}}).to(torch::kFloat16)));
  for (const char* other : {"zip-state-dict-p4.pth", "legacy-state-dict.pth", "zip-nested-g-ema.pth"}) {
    const TensorMap m = gpen::load_checkpoint((dir / other).string());
    ASSERT_EQ(m.size(), zip.size()) << other;
    for (const auto& [key, t] : zip) EXPECT_TRUE(torch::equal(m.at(key), t)) << other << " " << key;
  }
  for (const char* all_types : {"zip-all-types-no-zip64.pth", "legacy-all-types.pth"}) {
    EXPECT_EQ(gpen::load_checkpoint((dir / all_types).string()).size(), 10u) << all_types;
  }
  EXPECT_TRUE(contains(error_of([&] { gpen::load_checkpoint((dir / "zip-empty-dict.pth").string()); }),
                       "no state_dict found"));
}

}  // namespace
