// A restricted unpickler for the pickles `torch.save` writes (protocols 2 to
// 5). It executes nothing: it builds a small tree of plain values, accepts
// only an allow-list of globals (OrderedDict, torch's tensor rebuild functions,
// storage types and dtypes) and evaluates REDUCE only for those callables.
// Every read is bounds-checked; stack, memo, nesting depth and the memory the
// values take are bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace gpen {

class PickleValue;
using PickleValuePtr = std::shared_ptr<PickleValue>;

struct PickleNone {};

// An integer too wide for int64 (LONG1/LONG4), as little-endian two's
// complement bytes; the legacy checkpoint magic number is one.
struct PickleBigInt {
  std::string bytes;
};

struct PickleBytes {
  std::string data;
};

struct PickleTuple {
  std::vector<PickleValuePtr> items;
};

struct PickleList {
  std::vector<PickleValuePtr> items;
};

// A dict or OrderedDict; keys are strings or ints, kept in insertion order.
struct PickleDict {
  using Key = std::variant<std::int64_t, std::string>;
  std::vector<std::pair<PickleValuePtr, PickleValuePtr>> items;
  std::map<Key, std::size_t> index;  // key -> position in items
  bool ordered = false;              // made by collections.OrderedDict()

  // The value under a string key, or nullptr.
  const PickleValue* find(const std::string& key) const;
};

// A reference to an allowed global, e.g. {"torch", "FloatStorage"}.
struct PickleGlobal {
  std::string module;
  std::string name;
};

// A storage handed back by the persistent-id loader; `id` is the loader's own.
struct PickleStorage {
  std::size_t id = 0;
};

// The arguments of torch._utils._rebuild_tensor(_v2): a view of a storage.
// Nothing is checked against the storage here; the loader does that.
struct PickleTensor {
  std::size_t storage = 0;
  std::int64_t offset = 0;
  std::vector<std::int64_t> sizes;
  std::vector<std::int64_t> strides;
};

class PickleValue {
 public:
  using Data = std::variant<PickleNone, bool, std::int64_t, PickleBigInt, double, std::string,
                            PickleBytes, PickleTuple, PickleList, PickleDict, PickleGlobal,
                            PickleStorage, PickleTensor>;

  explicit PickleValue(Data data) : data_(std::move(data)) {}

  const Data& data() const { return data_; }

  template <class T>
  const T* get_if() const {
    return std::get_if<T>(&data_);
  }

  // A short Python-like name of the value's type, for messages ("str", "dict").
  std::string type_name() const;

  // How deeply containers nest below this value (0 for a scalar).
  int depth() const { return depth_; }

 private:
  friend class Unpickler;  // fills containers and tracks nesting

  Data data_;
  int depth_ = 0;
  // Set once the value is inside another container; such a container is never
  // modified again, which rules out cycles and keeps depth_ exact.
  bool nested_ = false;
};

// `s` made safe and short for an error message: at most 120 characters, with
// control and non-ASCII bytes written as \xNN.
std::string printable_text(const std::string& s);

// Turns a persistent id (BINPERSID's argument) into a value, usually a
// PickleStorage. Throws CheckpointError to refuse it.
using PersistentLoad = std::function<PickleValuePtr(const PickleValue& pid)>;

// Limits that keep a hostile pickle from exhausting memory or the C++ stack.
struct PickleLimits {
  int max_depth = 256;             // container nesting, and open MARKs
  std::size_t max_stack = 1 << 20;  // values on the stack
  std::size_t max_memo = 1 << 22;   // memo entries
  std::size_t max_long_bytes = 64;  // LONG1/LONG4 payload
  std::size_t max_dims = 64;        // tensor dimensions
  // Memory the unpickled values may take, all told. A few opcode bytes can
  // otherwise make megabytes: a memoized string copied into a fresh dict key
  // or _codecs.encode result, again and again. A GPEN pickle needs ~1 MiB.
  std::size_t max_bytes = std::size_t{64} << 20;
};

// Reads one pickle from data[*pos, size) up to its STOP opcode and returns the
// value it makes; *pos is then just past the STOP. Offsets in messages are
// `base_offset + offset in data`. Throws CheckpointError("<name>: ...").
std::shared_ptr<const PickleValue> read_pickle(const std::uint8_t* data, std::size_t size,
                                               std::size_t* pos, const std::string& name,
                                               const PersistentLoad& persistent_load = {},
                                               std::uint64_t base_offset = 0,
                                               const PickleLimits& limits = {});

}  // namespace gpen
