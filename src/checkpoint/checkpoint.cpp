#include "checkpoint/checkpoint.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "checkpoint/pickle_reader.h"
#include "checkpoint/zip_archive.h"
#include "runtime/error.h"

namespace gpen {
namespace {

// torch.serialization's MAGIC_NUMBER, 0x1950a86a20f9469cfc6c, as pickled
// (little-endian two's complement) at the start of legacy checkpoints.
const std::string kLegacyMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);
constexpr std::int64_t kLegacyProtocolVersion = 1001;

// Keys under which training checkpoints keep the weights, in order of preference.
const char* const kStateDictKeys[] = {"state_dict", "g_ema", "params_ema", "params"};

// A name from the file, quoted for a message.
std::string quoted(const std::string& s) {
  return "'" + printable_text(s) + "'";
}

[[noreturn]] void fail(const std::string& name, const std::string& why) {
  throw CheckpointError(name + ": " + why);
}

struct StorageType {
  torch::Dtype dtype;
  std::size_t element_size;
};

std::optional<StorageType> storage_type(const PickleValue& v) {
  const auto* g = v.get_if<PickleGlobal>();
  if (!g || g->module != "torch") return std::nullopt;
  static const std::pair<const char*, StorageType> types[] = {
      {"FloatStorage", {torch::kFloat32, 4}}, {"DoubleStorage", {torch::kFloat64, 8}},
      {"HalfStorage", {torch::kFloat16, 2}},  {"BFloat16Storage", {torch::kBFloat16, 2}},
      {"LongStorage", {torch::kInt64, 8}},    {"IntStorage", {torch::kInt32, 4}},
      {"ShortStorage", {torch::kInt16, 2}},   {"CharStorage", {torch::kInt8, 1}},
      {"ByteStorage", {torch::kUInt8, 1}},    {"BoolStorage", {torch::kBool, 1}},
  };
  for (const auto& [name, type] : types) {
    if (g->name == name) return type;
  }
  return std::nullopt;
}

// Storages named by the pickle's persistent ids. A legacy checkpoint may also
// name views (a range of elements of a root storage).
class StorageTable {
 public:
  struct Entry {
    std::string key;
    StorageType type;
    std::int64_t numel = 0;
    std::size_t root = 0;      // itself for a root storage
    std::int64_t offset = 0;   // first element within the root
    std::optional<ByteView> bytes;  // a root's numel * element_size bytes, once found
  };

  explicit StorageTable(const std::string& name) : name_(name) {}

  // Returns the id of the root storage `key`, adding it on first sight.
  std::size_t add_root(const std::string& key, StorageType type, std::int64_t numel, bool* added) {
    const auto it = roots_.find(key);
    *added = it == roots_.end();
    if (!*added) {
      const Entry& e = entries_[it->second];
      if (e.type.dtype != type.dtype || e.numel != numel) fail("storage " + quoted(key) + " is described twice, differently");
      return it->second;
    }
    const std::size_t id = entries_.size();
    entries_.push_back(Entry{key, type, numel, id, 0, std::nullopt});
    roots_.emplace(key, id);
    return id;
  }

  std::size_t add_view(std::size_t root, const std::string& key, std::int64_t offset, std::int64_t numel) {
    const auto it = views_.find(key);
    if (it != views_.end()) {
      const Entry& e = entries_[it->second];
      if (e.root != root || e.offset != offset || e.numel != numel) fail("storage view " + quoted(key) + " is described twice, differently");
      return it->second;
    }
    const std::size_t id = entries_.size();
    entries_.push_back(Entry{key, entries_[root].type, numel, root, offset, std::nullopt});
    views_.emplace(key, id);
    return id;
  }

  void set_bytes(std::size_t root, ByteView bytes) { entries_.at(root).bytes = bytes; }

  const Entry& at(std::size_t id) const {
    if (id >= entries_.size()) fail("tensor refers to an unknown storage");
    return entries_[id];
  }

  std::optional<std::size_t> find_root(const std::string& key) const {
    const auto it = roots_.find(key);
    if (it == roots_.end()) return std::nullopt;
    return it->second;
  }

  // The bytes of storage `id` (a root, or a view into one).
  ByteView bytes(std::size_t id) const {
    const Entry& e = at(id);
    const Entry& root = entries_[e.root];
    if (!root.bytes) fail("storage " + quoted(root.key) + " has no data in the file");
    const std::size_t esize = e.type.element_size;
    return ByteView{root.bytes->data + static_cast<std::size_t>(e.offset) * esize,
                    static_cast<std::size_t>(e.numel) * esize};
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw CheckpointError(name_ + ": " + why); }

  const std::string& name_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> roots_;
  std::unordered_map<std::string, std::size_t> views_;
};

// The common part of both formats' persistent ids:
// ('storage', <torch XStorage>, key, location, numel, ...).
struct StorageId {
  std::string key;
  StorageType type;
  std::int64_t numel;
  const PickleTuple* tuple;
};

StorageId parse_storage_id(const PickleValue& pid, std::size_t expected_len, const std::string& name) {
  const auto* t = pid.get_if<PickleTuple>();
  if (!t) fail(name, "persistent id is a " + pid.type_name() + ", not a tuple");
  const auto* kind = t->items.empty() ? nullptr : t->items[0]->get_if<std::string>();
  if (kind && *kind == "module") fail(name, "the checkpoint holds a whole pickled module, not a state_dict");
  if (!kind || *kind != "storage" || t->items.size() != expected_len) fail(name, "unsupported persistent id (expected a storage)");
  const auto type = storage_type(*t->items[1]);
  if (!type) {
    const PickleValue& v = *t->items[1];
    fail(name, "unsupported storage type " + (v.get_if<PickleGlobal>() ? v.type_name() : "(a " + v.type_name() + ")"));
  }
  const auto* key = t->items[2]->get_if<std::string>();
  const auto* numel = t->items[4]->get_if<std::int64_t>();
  if (!key || !t->items[3]->get_if<std::string>() || !numel) fail(name, "malformed storage persistent id");
  if (*numel < 0 || static_cast<std::uint64_t>(*numel) > std::numeric_limits<std::uint64_t>::max() / 2 / type->element_size) {
    fail(name, "storage " + quoted(*key) + " claims an impossible size of " + std::to_string(*numel) + " elements");
  }
  return StorageId{*key, *type, *numel, t};
}

std::string byte_count(std::uint64_t elements, std::size_t element_size) {
  return std::to_string(elements * element_size) + " bytes";
}

// --- tensors ------------------------------------------------------------------

// Keeps the tensors' total size within reach of the file's size, so views
// that overlap or repeat a storage cannot blow up memory.
struct MemoryBudget {
  std::uint64_t left;
};

std::string shape_text(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Builds a contiguous tensor that owns a copy of the view `t` of its storage,
// after checking that the view lies within the storage.
torch::Tensor make_tensor(const PickleTensor& t, const StorageTable& storages, const std::string& key,
                          MemoryBudget& budget, const std::string& name) {
  const StorageTable::Entry& storage = storages.at(t.storage);
  const std::uint64_t numel = static_cast<std::uint64_t>(storage.numel);
  const std::uint64_t offset = static_cast<std::uint64_t>(t.offset);  // sizes, strides, offset are >= 0
  const std::size_t esize = storage.type.element_size;
  const auto outside = [&] {
    fail(name, "tensor " + quoted(key) + ": size " + shape_text(t.sizes) + " with stride " + shape_text(t.strides) +
                   " at offset " + std::to_string(t.offset) + " goes outside its storage " + quoted(storage.key) +
                   " of " + std::to_string(numel) + " elements");
  };
  if (std::find(t.sizes.begin(), t.sizes.end(), 0) != t.sizes.end()) {
    if (offset > numel) outside();
    return torch::empty(t.sizes, storage.type.dtype);
  }
  // The last element's index and the element count, checked dimension by
  // dimension so that no forged size or stride can wrap around.
  if (offset >= numel) outside();
  const std::uint64_t max_count = budget.left / esize;
  std::uint64_t last = offset;  // stays < numel
  std::uint64_t count = 1;
  for (std::size_t i = 0; i < t.sizes.size(); ++i) {
    const std::uint64_t size = static_cast<std::uint64_t>(t.sizes[i]);
    const std::uint64_t stride = static_cast<std::uint64_t>(t.strides[i]);
    if (size > 1 && stride > (numel - 1 - last) / (size - 1)) outside();
    last += (size - 1) * stride;
    if (size > max_count / count) {
      fail(name, "tensor " + quoted(key) + ": the tensors add up to far more memory than the file holds");
    }
    count *= size;
  }
  budget.left -= count * esize;

  // Copy the span the view covers out of the file, then compact it.
  const ByteView bytes = storages.bytes(t.storage);
  const std::uint64_t span = last - offset + 1;
  const bool is_bool = storage.type.dtype == torch::kBool;
  // Bools are copied as bytes and normalised: a byte other than 0 or 1 is not
  // a valid bool.
  torch::Tensor buf = torch::empty({static_cast<std::int64_t>(span)}, is_bool ? torch::kUInt8 : storage.type.dtype);
  std::memcpy(buf.data_ptr(), bytes.data + offset * esize, span * esize);
  if (is_bool) buf = buf.ne(0);
  return buf.as_strided(t.sizes, t.strides).contiguous();
}

bool is_tensor_dict(const PickleValue& v) {
  const auto* d = v.get_if<PickleDict>();
  if (!d || d->items.empty()) return false;
  for (const auto& [key, value] : d->items) {
    if (!key->get_if<std::string>() || !value->get_if<PickleTensor>()) return false;
  }
  return true;
}

std::string key_list(const PickleDict& d) {
  constexpr std::size_t kMaxListed = 20;
  std::string s;
  for (std::size_t i = 0; i < d.items.size() && i < kMaxListed; ++i) {
    const PickleValue& k = *d.items[i].first;
    if (i) s += ", ";
    if (const auto* str = k.get_if<std::string>()) {
      s += quoted(*str);
    } else if (const auto* n = k.get_if<std::int64_t>()) {
      s += std::to_string(*n);
    }
  }
  if (d.items.size() > kMaxListed) s += ", ... (" + std::to_string(d.items.size()) + " keys)";
  return s.empty() ? "none" : s;
}

// The dict of tensors in the checkpoint: the top-level object, or the value of
// the first of kStateDictKeys that holds one.
const PickleDict& find_state_dict(const PickleValue& top, const std::string& name) {
  if (is_tensor_dict(top)) return *top.get_if<PickleDict>();
  const auto* d = top.get_if<PickleDict>();
  if (!d) throw CheckpointError(name + ": the checkpoint holds a " + top.type_name() + ", not a dict of tensors");
  for (const char* key : kStateDictKeys) {
    const PickleValue* v = d->find(key);
    if (v && is_tensor_dict(*v)) return *v->get_if<PickleDict>();
  }
  throw CheckpointError(name + ": no state_dict found: the top-level dict has keys " + key_list(*d) +
                        " (expected a dict of tensors, or one under 'state_dict', 'g_ema', "
                        "'params_ema' or 'params')");
}

TensorMap build_state_dict(const PickleValue& top, const StorageTable& storages, std::size_t file_size,
                           const std::string& name) {
  const PickleDict& dict = find_state_dict(top, name);
  const std::string prefix = "module.";
  bool all_prefixed = true;
  for (const auto& item : dict.items) {
    all_prefixed = all_prefixed && item.first->get_if<std::string>()->rfind(prefix, 0) == 0;
  }
  // Legitimate views only ever share or slice storages, so the tensors never
  // need much more than the file's own size.
  MemoryBudget budget{4 * static_cast<std::uint64_t>(file_size) + (64u << 20)};
  TensorMap out;
  for (const auto& [key_value, tensor_value] : dict.items) {
    const std::string& key = *key_value->get_if<std::string>();
    try {
      out.emplace(all_prefixed ? key.substr(prefix.size()) : key,
                  make_tensor(*tensor_value->get_if<PickleTensor>(), storages, key, budget, name));
    } catch (const c10::Error& e) {
      throw CheckpointError(name + ": tensor " + quoted(key) + ": " + e.what_without_backtrace());
    } catch (const std::bad_alloc&) {
      throw CheckpointError(name + ": tensor " + quoted(key) + ": out of memory");
    }
  }
  return out;
}

// --- zip format (torch >= 1.6) ----------------------------------------------------

// The archive's folder: the entries are "<prefix>/data.pkl", "<prefix>/data/<key>".
std::string find_prefix(const ZipArchive& zip, const std::string& name) {
  const std::string suffix = "/data.pkl";
  for (const ZipEntry& e : zip.entries()) {
    const auto slash = e.name.find('/');
    if (e.name.size() > suffix.size() && slash == e.name.size() - suffix.size() &&
        e.name.compare(slash, suffix.size(), suffix) == 0) {
      const std::string prefix = e.name.substr(0, slash);
      if (zip.find(prefix + "/constants.pkl")) {
        throw CheckpointError(name + ": this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint");
      }
      return prefix;
    }
  }
  throw CheckpointError(name + ": not a PyTorch checkpoint (zip archive without a data.pkl)");
}

void check_byte_order(const ZipArchive& zip, const std::string& prefix, const std::string& name) {
  const ZipEntry* e = zip.find(prefix + "/byteorder");
  if (!e) return;  // written only since torch 2.1; older files are little-endian
  const ByteView b = zip.read(*e);
  const std::string order(reinterpret_cast<const char*>(b.data), std::min<std::size_t>(b.size, 16));
  if (order == "little") return;
  if (order == "big") throw CheckpointError(name + ": big-endian checkpoints are not supported");
  throw CheckpointError(name + ": unknown byte order in checkpoint");
}

TensorMap load_zip(ByteView file, const std::string& name) {
  const ZipArchive zip(file, name);
  const std::string prefix = find_prefix(zip, name);
  check_byte_order(zip, prefix, name);
  StorageTable storages(name);

  // ('storage', <torch XStorage>, key, location, numel): the bytes are the
  // entry "<prefix>/data/<key>".
  const PersistentLoad load = [&](const PickleValue& pid) {
    const StorageId sid = parse_storage_id(pid, 5, name);
    bool added = false;
    const std::size_t id = storages.add_root(sid.key, sid.type, sid.numel, &added);
    if (added) {
      const ZipEntry* entry = zip.find(prefix + "/data/" + sid.key);
      if (!entry) throw CheckpointError(name + ": storage " + quoted(sid.key) + " is missing from the archive");
      const std::uint64_t needed = static_cast<std::uint64_t>(sid.numel) * sid.type.element_size;
      if (needed > entry->size) {
        throw CheckpointError(name + ": storage " + quoted(sid.key) + " claims " + byte_count(sid.numel, sid.type.element_size) +
                              " but its entry holds " + std::to_string(entry->size));
      }
      storages.set_bytes(id, zip.read(*entry));
    }
    return std::make_shared<PickleValue>(PickleStorage{id});
  };

  const ZipEntry* pkl = zip.find(prefix + "/data.pkl");
  const ByteView pickle = zip.read(*pkl);
  std::size_t pos = 0;
  const auto top = read_pickle(pickle.data, pickle.size, &pos, name, load, pkl->data_offset);
  return build_state_dict(*top, storages, file.size, name);
}

// --- legacy format (torch < 1.6) ----------------------------------------------------

const PickleDict& expect_dict(const PickleValue& v, const char* what, const std::string& name) {
  const auto* d = v.get_if<PickleDict>();
  if (!d) throw CheckpointError(name + ": " + what + " is a " + v.type_name() + ", not a dict");
  return *d;
}

// Reads the storages' bytes that follow the pickles: for each key of the list
// pickle, an int64 element count and then the elements.
void read_legacy_storages(ByteView file, std::size_t pos, const PickleValue& keys_value,
                          StorageTable& storages, const std::string& name) {
  const auto* keys = keys_value.get_if<PickleList>();
  if (!keys) throw CheckpointError(name + ": storage key list is a " + keys_value.type_name() + ", not a list");
  for (const auto& key_value : keys->items) {
    const auto* key = key_value->get_if<std::string>();
    if (!key) throw CheckpointError(name + ": storage key is a " + key_value->type_name() + ", not a str");
    const auto id = storages.find_root(*key);
    if (!id) throw CheckpointError(name + ": data for storage " + quoted(*key) + ", which no tensor uses");
    const StorageTable::Entry& e = storages.at(*id);
    if (e.bytes) throw CheckpointError(name + ": storage " + quoted(*key) + " is stored twice");
    if (file.size - pos < 8) throw CheckpointError(name + ": truncated file at offset " + std::to_string(pos) + " (reading the size of storage " + quoted(*key) + ")");
    std::int64_t count = 0;
    for (int i = 7; i >= 0; --i) count = static_cast<std::int64_t>(static_cast<std::uint64_t>(count) << 8 | file.data[pos + i]);
    pos += 8;
    if (count != e.numel) {
      throw CheckpointError(name + ": storage " + quoted(*key) + " holds " + std::to_string(count) + " elements, but " +
                            std::to_string(e.numel) + " were announced");
    }
    const std::uint64_t n = static_cast<std::uint64_t>(count) * e.type.element_size;
    if (n > file.size - pos) {
      throw CheckpointError(name + ": truncated file at offset " + std::to_string(pos) + " (storage " + quoted(*key) +
                            " needs " + std::to_string(n) + " bytes, " + std::to_string(file.size - pos) + " are left)");
    }
    storages.set_bytes(*id, ByteView{file.data + pos, static_cast<std::size_t>(n)});
    pos += static_cast<std::size_t>(n);
  }
}

// ('storage', <torch XStorage>, root_key, location, root_numel, view), view
// being None or (view_key, offset, view_numel).
std::size_t legacy_storage(const PickleValue& pid, StorageTable& storages, std::size_t file_size,
                           const std::string& name) {
  const StorageId sid = parse_storage_id(pid, 6, name);
  if (static_cast<std::uint64_t>(sid.numel) * sid.type.element_size > file_size) {
    throw CheckpointError(name + ": storage " + quoted(sid.key) + " claims " + byte_count(sid.numel, sid.type.element_size) +
                          ", more than the whole " + std::to_string(file_size) + "-byte file");
  }
  bool added = false;
  const std::size_t root = storages.add_root(sid.key, sid.type, sid.numel, &added);
  const PickleValue& view = *sid.tuple->items[5];
  if (view.get_if<PickleNone>()) return root;
  const auto* v = view.get_if<PickleTuple>();
  const auto* view_key = v && v->items.size() == 3 ? v->items[0]->get_if<std::string>() : nullptr;
  const auto* offset = view_key ? v->items[1]->get_if<std::int64_t>() : nullptr;
  const auto* numel = view_key ? v->items[2]->get_if<std::int64_t>() : nullptr;
  if (!offset || !numel) throw CheckpointError(name + ": malformed storage view of " + quoted(sid.key));
  if (*offset < 0 || *numel < 0 || *offset > sid.numel || *numel > sid.numel - *offset) {
    throw CheckpointError(name + ": storage view " + quoted(*view_key) + " goes outside storage " + quoted(sid.key));
  }
  return storages.add_view(root, *view_key, *offset, *numel);
}

TensorMap load_legacy(ByteView file, const std::string& name) {
  std::size_t pos = 0;
  const auto magic = read_pickle(file.data, file.size, &pos, name);
  const auto* big = magic->get_if<PickleBigInt>();
  if (!big || big->bytes != kLegacyMagic) throw CheckpointError(name + ": not a PyTorch checkpoint (a pickle without torch's magic number)");

  const auto version = read_pickle(file.data, file.size, &pos, name);
  const auto* v = version->get_if<std::int64_t>();
  if (!v || *v != kLegacyProtocolVersion) throw CheckpointError(name + ": unsupported legacy checkpoint version");

  const auto sys_info = read_pickle(file.data, file.size, &pos, name);
  const PickleValue* little = expect_dict(*sys_info, "the checkpoint's system info", name).find("little_endian");
  const bool* is_little = little ? little->get_if<bool>() : nullptr;
  if (!is_little) throw CheckpointError(name + ": the checkpoint's system info does not give its byte order");
  if (!*is_little) throw CheckpointError(name + ": big-endian checkpoints are not supported");

  StorageTable storages(name);
  const PersistentLoad load = [&](const PickleValue& pid) {
    return std::make_shared<PickleValue>(PickleStorage{legacy_storage(pid, storages, file.size, name)});
  };
  const auto top = read_pickle(file.data, file.size, &pos, name, load);
  const auto keys = read_pickle(file.data, file.size, &pos, name);
  read_legacy_storages(file, pos, *keys, storages, name);
  return build_state_dict(*top, storages, file.size, name);
}

bool looks_like_tar(ByteView file) {
  return file.size >= 262 && std::memcmp(file.data + 257, "ustar", 5) == 0;
}

std::string first_bytes(ByteView file) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < file.size && i < 8; ++i) {
    s += i ? " " : "";
    s += digits[file.data[i] >> 4];
    s += digits[file.data[i] & 15];
  }
  return s;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

TensorMap load_checkpoint_from_memory(const std::uint8_t* data, std::size_t size, const std::string& name) {
  const ByteView file{data, size};
  if (size == 0) throw CheckpointError(name + ": not a PyTorch checkpoint (empty file)");
  if (looks_like_zip(file)) return load_zip(file, name);
  if (data[0] == 0x80) return load_legacy(file, name);
  if (looks_like_tar(file)) throw CheckpointError(name + ": tar checkpoints (torch < 0.4) are not supported");
  throw CheckpointError(name + ": not a PyTorch checkpoint (it starts with bytes " + first_bytes(file) + ")");
}

TensorMap load_checkpoint(const std::string& path) {
  const auto fail_errno = [&](const char* what) { fail(path, std::string(what) + ": " + std::strerror(errno)); };
  errno = 0;
  const std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) fail_errno("cannot open");
  struct stat st {};
  if (fstat(fileno(f.get()), &st) != 0) fail_errno("cannot read");
  if (S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    fail_errno("cannot read");
  }
  std::vector<std::uint8_t> bytes;
  if (S_ISREG(st.st_mode)) bytes.reserve(static_cast<std::size_t>(st.st_size));
  std::uint8_t chunk[1 << 16];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f.get())) > 0) bytes.insert(bytes.end(), chunk, chunk + n);
  if (std::ferror(f.get())) fail_errno("cannot read");
  return load_checkpoint_from_memory(bytes.data(), bytes.size(), path);
}

}  // namespace gpen
