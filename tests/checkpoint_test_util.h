// Helpers shared by the checkpoint tests: reading fixtures, loading from
// bytes, and writers of hand-built pickles, ZIP archives and legacy torch.save
// files, so that hostile inputs can be crafted byte by byte.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "checkpoint/pickle_reader.h"
#include "checkpoint/zip_archive.h"
#include "runtime/error.h"

namespace checkpoint_test {

using namespace std::string_literals;
using gpen::CheckpointError;
using gpen::TensorMap;

inline std::string fixture(const std::string& file) {
  return std::string(GPEN_TEST_DATA_DIR) + "/gpen-64/" + file;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f) << path;
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline TensorMap load(const std::string& bytes, const std::string& name = "test.pth") {
  return gpen::load_checkpoint_from_memory(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                           bytes.size(), name);
}

// The CheckpointError message of `f()`; a failure when it does not throw one.
template <class F>
inline std::string error_of(F&& f) {
  try {
    f();
  } catch (const CheckpointError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a CheckpointError";
  return {};
}

inline std::string load_error(const std::string& bytes, const std::string& name = "test.pth") {
  return error_of([&] { load(bytes, name); });
}

inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// Loads without caring whether it works: only a CheckpointError may come out.
inline void load_or_refuse(const std::string& bytes) {
  try {
    load(bytes);
  } catch (const CheckpointError&) {
  }
}

// --- writers for hand-built files ---------------------------------------------

inline void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// Writes pickle opcodes.
class Pickle {
 public:
  Pickle() { bytes_ += "\x80\x02"; }  // PROTO 2, as torch.save

  Pickle& op(char c) {
    bytes_ += c;
    return *this;
  }
  Pickle& raw(const std::string& s) {
    bytes_ += s;
    return *this;
  }
  Pickle& str(const std::string& s) {
    bytes_ += 'X';
    put_le(bytes_, s.size(), 4);
    bytes_ += s;
    return *this;
  }
  Pickle& integer(std::int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      bytes_ += 'J';
      put_le(bytes_, static_cast<std::uint64_t>(v), 4);
    } else {
      bytes_ += "\x8a\x08";  // LONG1, 8 bytes
      put_le(bytes_, static_cast<std::uint64_t>(v), 8);
    }
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    bytes_ += 'c' + module + '\n' + name + '\n';
    return *this;
  }
  Pickle& mark() { return op('('); }
  Pickle& tuple() { return op('t'); }
  Pickle& reduce() { return op('R'); }
  Pickle& int_tuple(const std::vector<std::int64_t>& v) {
    mark();
    for (auto i : v) integer(i);
    return tuple();
  }
  Pickle& stop() { return op('.'); }

  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// One tensor of a hand-built state_dict.
struct TensorSpec {
  std::string name;
  std::string storage_type = "FloatStorage";
  std::string key = "0";
  std::int64_t numel = 0;
  std::int64_t offset = 0;
  std::vector<std::int64_t> sizes;
  std::vector<std::int64_t> strides;
  // Legacy format only: (view_key, offset, numel) of a view of the storage.
  std::optional<std::tuple<std::string, std::int64_t, std::int64_t>> view;
};

inline void write_tensor(Pickle& p, const TensorSpec& t, bool legacy) {
  p.global("torch._utils", "_rebuild_tensor_v2").mark();
  p.mark().str("storage").global("torch", t.storage_type).str(t.key).str("cpu").integer(t.numel);
  if (legacy) {
    if (t.view) {
      p.mark().str(std::get<0>(*t.view)).integer(std::get<1>(*t.view)).integer(std::get<2>(*t.view)).tuple();
    } else {
      p.op('N');
    }
  }
  p.tuple().op('Q');  // BINPERSID
  p.integer(t.offset).int_tuple(t.sizes).int_tuple(t.strides).op('\x89');  // requires_grad=False
  p.global("collections", "OrderedDict").op(')').reduce();                 // backward_hooks
  p.tuple().reduce();
}

// {name: tensor, ...} as torch.save writes a plain dict.
inline std::string state_dict_pickle(const std::vector<TensorSpec>& tensors, bool legacy = false) {
  Pickle p;
  p.op('}').mark();
  for (const auto& t : tensors) {
    p.str(t.name);
    write_tensor(p, t, legacy);
  }
  p.op('u').stop();
  return p.bytes();
}

struct ZipFile {
  std::string name;
  std::string data;
  std::uint16_t method = 0;
};

// A ZIP archive of stored entries; with zip64, every size and offset goes
// through ZIP64 extra fields and records.
inline std::string make_zip(const std::vector<ZipFile>& files, bool zip64 = false) {
  std::string out, dir;
  for (const ZipFile& f : files) {
    const std::uint32_t crc = gpen::crc32({reinterpret_cast<const std::uint8_t*>(f.data.data()), f.data.size()});
    const std::uint64_t header = out.size();
    put_le(out, 0x04034b50, 4);
    put_le(out, 20, 2);
    put_le(out, 0, 2);
    put_le(out, f.method, 2);
    put_le(out, 0, 4);  // time, date
    put_le(out, crc, 4);
    put_le(out, f.data.size(), 4);
    put_le(out, f.data.size(), 4);
    put_le(out, f.name.size(), 2);
    put_le(out, 3, 2);  // an extra field of padding, as torch adds
    out += f.name + "xyz" + f.data;

    std::string extra;
    if (zip64) {
      put_le(extra, 1, 2);
      put_le(extra, 24, 2);
      put_le(extra, f.data.size(), 8);
      put_le(extra, f.data.size(), 8);
      put_le(extra, header, 8);
    }
    const std::uint64_t sat = zip64 ? 0xffffffff : 0;
    put_le(dir, 0x02014b50, 4);
    put_le(dir, 20, 2);
    put_le(dir, 20, 2);
    put_le(dir, 0, 2);
    put_le(dir, f.method, 2);
    put_le(dir, 0, 4);
    put_le(dir, crc, 4);
    put_le(dir, zip64 ? sat : f.data.size(), 4);
    put_le(dir, zip64 ? sat : f.data.size(), 4);
    put_le(dir, f.name.size(), 2);
    put_le(dir, extra.size(), 2);
    put_le(dir, 0, 2);   // comment
    put_le(dir, 0, 2);   // disk
    put_le(dir, 0, 2);   // internal attributes
    put_le(dir, 0, 4);   // external attributes
    put_le(dir, zip64 ? sat : header, 4);
    dir += f.name + extra;
  }
  const std::uint64_t dir_offset = out.size();
  out += dir;
  if (zip64) {
    const std::uint64_t record = out.size();
    put_le(out, 0x06064b50, 4);
    put_le(out, 44, 8);
    put_le(out, 45, 2);
    put_le(out, 45, 2);
    put_le(out, 0, 4);
    put_le(out, 0, 4);
    put_le(out, files.size(), 8);
    put_le(out, files.size(), 8);
    put_le(out, dir.size(), 8);
    put_le(out, dir_offset, 8);
    put_le(out, 0x07064b50, 4);
    put_le(out, 0, 4);
    put_le(out, record, 8);
    put_le(out, 1, 4);
  }
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 2);
  put_le(out, 0, 2);
  put_le(out, zip64 ? 0xffff : files.size(), 2);
  put_le(out, zip64 ? 0xffff : files.size(), 2);
  put_le(out, zip64 ? 0xffffffff : dir.size(), 4);
  put_le(out, zip64 ? 0xffffffff : dir_offset, 4);
  put_le(out, 0, 2);
  return out;
}

// A torch >= 1.6 checkpoint: archive/data.pkl and archive/data/<key>.
inline std::string torch_zip(const std::string& pickle, const std::vector<std::pair<std::string, std::string>>& storages,
                      bool zip64 = false) {
  std::vector<ZipFile> files{{"archive/data.pkl", pickle}};
  for (const auto& [key, data] : storages) files.push_back({"archive/data/" + key, data});
  files.push_back({"archive/version", "3\n"});
  return make_zip(files, zip64);
}

// A torch < 1.6 checkpoint: magic, protocol version, system info, the main
// pickle, the storage keys, then each storage as int64 count + elements.
struct LegacyStorage {
  std::string key;
  std::int64_t count;
  std::string data;
};

inline std::string legacy_file(const std::string& pickle, const std::vector<LegacyStorage>& storages,
                        bool little_endian = true) {
  std::string out = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";
  out += Pickle().integer(1001).stop().bytes();
  out += Pickle().op('}').str("protocol_version").integer(1001).op('s').str("little_endian")
             .op(little_endian ? '\x88' : '\x89').op('s').stop().bytes();
  out += pickle;
  Pickle keys;
  keys.op(']').mark();
  for (const auto& s : storages) keys.str(s.key);
  out += keys.op('e').stop().bytes();
  for (const auto& s : storages) {
    put_le(out, static_cast<std::uint64_t>(s.count), 8);
    out += s.data;
  }
  return out;
}

inline std::string float_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

inline std::vector<float> iota_floats(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return v;
}

// A fixture's entries, to re-zip after changing some.
inline std::vector<ZipFile> unzip(const std::string& bytes) {
  const gpen::ZipArchive zip({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, "fixture");
  std::vector<ZipFile> files;
  for (const auto& e : zip.entries()) {
    const gpen::ByteView b = zip.read(e);
    files.push_back({e.name, std::string(reinterpret_cast<const char*>(b.data), b.size)});
  }
  return files;
}

}  // namespace checkpoint_test
