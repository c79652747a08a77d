#include "checkpoint/pickle_reader.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "runtime/error.h"

namespace gpen {
namespace {

// Pickle opcodes (Python's Lib/pickle.py).
enum Op : std::uint8_t {
  MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', FLOAT = 'F', INT = 'I',
  BININT = 'J', BININT1 = 'K', LONG = 'L', BININT2 = 'M', NONE = 'N', PERSID = 'P',
  BINPERSID = 'Q', REDUCE = 'R', STRING = 'S', BINSTRING = 'T', SHORT_BINSTRING = 'U',
  UNICODE = 'V', BINUNICODE = 'X', APPEND = 'a', BUILD = 'b', GLOBAL = 'c', DICT = 'd',
  EMPTY_DICT = '}', APPENDS = 'e', GET = 'g', BINGET = 'h', INST = 'i', LONG_BINGET = 'j',
  LIST = 'l', EMPTY_LIST = ']', OBJ = 'o', PUT = 'p', BINPUT = 'q', LONG_BINPUT = 'r',
  SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G',
  PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85,
  TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b,
  BINBYTES = 'B', SHORT_BINBYTES = 'C', SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d,
  BINBYTES8 = 0x8e, EMPTY_SET = 0x8f, ADDITEMS = 0x90, FROZENSET = 0x91, NEWOBJ_EX = 0x92,
  STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95, BYTEARRAY8 = 0x96, NEXT_BUFFER = 0x97,
  READONLY_BUFFER = 0x98,
};

const char* op_name(std::uint8_t op) {
  switch (op) {
    case MARK: return "MARK"; case STOP: return "STOP"; case POP: return "POP";
    case POP_MARK: return "POP_MARK"; case DUP: return "DUP"; case FLOAT: return "FLOAT";
    case INT: return "INT"; case BININT: return "BININT"; case BININT1: return "BININT1";
    case LONG: return "LONG"; case BININT2: return "BININT2"; case NONE: return "NONE";
    case PERSID: return "PERSID"; case BINPERSID: return "BINPERSID"; case REDUCE: return "REDUCE";
    case STRING: return "STRING"; case BINSTRING: return "BINSTRING";
    case SHORT_BINSTRING: return "SHORT_BINSTRING"; case UNICODE: return "UNICODE";
    case BINUNICODE: return "BINUNICODE"; case APPEND: return "APPEND"; case BUILD: return "BUILD";
    case GLOBAL: return "GLOBAL"; case DICT: return "DICT"; case EMPTY_DICT: return "EMPTY_DICT";
    case APPENDS: return "APPENDS"; case GET: return "GET"; case BINGET: return "BINGET";
    case INST: return "INST"; case LONG_BINGET: return "LONG_BINGET"; case LIST: return "LIST";
    case EMPTY_LIST: return "EMPTY_LIST"; case OBJ: return "OBJ"; case PUT: return "PUT";
    case BINPUT: return "BINPUT"; case LONG_BINPUT: return "LONG_BINPUT"; case SETITEM: return "SETITEM";
    case TUPLE: return "TUPLE"; case EMPTY_TUPLE: return "EMPTY_TUPLE"; case SETITEMS: return "SETITEMS";
    case BINFLOAT: return "BINFLOAT"; case PROTO: return "PROTO"; case NEWOBJ: return "NEWOBJ";
    case EXT1: return "EXT1"; case EXT2: return "EXT2"; case EXT4: return "EXT4";
    case TUPLE1: return "TUPLE1"; case TUPLE2: return "TUPLE2"; case TUPLE3: return "TUPLE3";
    case NEWTRUE: return "NEWTRUE"; case NEWFALSE: return "NEWFALSE"; case LONG1: return "LONG1";
    case LONG4: return "LONG4"; case BINBYTES: return "BINBYTES"; case SHORT_BINBYTES: return "SHORT_BINBYTES";
    case SHORT_BINUNICODE: return "SHORT_BINUNICODE"; case BINUNICODE8: return "BINUNICODE8";
    case BINBYTES8: return "BINBYTES8"; case EMPTY_SET: return "EMPTY_SET"; case ADDITEMS: return "ADDITEMS";
    case FROZENSET: return "FROZENSET"; case NEWOBJ_EX: return "NEWOBJ_EX";
    case STACK_GLOBAL: return "STACK_GLOBAL"; case MEMOIZE: return "MEMOIZE"; case FRAME: return "FRAME";
    case BYTEARRAY8: return "BYTEARRAY8"; case NEXT_BUFFER: return "NEXT_BUFFER";
    case READONLY_BUFFER: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

std::string hex_byte(std::uint8_t b) {
  static const char digits[] = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

bool is_allowed_global(const std::string& module, const std::string& name) {
  static const std::pair<const char*, const char*> allowed[] = {
      {"collections", "OrderedDict"},
      // Protocol 2 pickles bytes as _codecs.encode(text, 'latin1'), and
      // empty bytes as bytes().
      {"_codecs", "encode"}, {"__builtin__", "bytes"}, {"builtins", "bytes"},
      {"torch._utils", "_rebuild_tensor_v2"},
      {"torch._utils", "_rebuild_tensor"},
      {"torch._utils", "_rebuild_parameter"},
      {"torch", "FloatStorage"}, {"torch", "DoubleStorage"}, {"torch", "HalfStorage"},
      {"torch", "BFloat16Storage"}, {"torch", "LongStorage"}, {"torch", "IntStorage"},
      {"torch", "ShortStorage"}, {"torch", "CharStorage"}, {"torch", "ByteStorage"},
      {"torch", "BoolStorage"},
      // dtypes are inert values (they pickle as globals), e.g. in metadata.
      {"torch", "float32"}, {"torch", "float"}, {"torch", "float64"}, {"torch", "double"},
      {"torch", "float16"}, {"torch", "half"}, {"torch", "bfloat16"}, {"torch", "int64"},
      {"torch", "long"}, {"torch", "int32"}, {"torch", "int"}, {"torch", "int16"},
      {"torch", "short"}, {"torch", "int8"}, {"torch", "uint8"}, {"torch", "bool"},
  };
  return std::any_of(std::begin(allowed), std::end(allowed), [&](const auto& g) {
    return module == g.first && name == g.second;
  });
}

std::int64_t sign_extend(std::uint64_t v, unsigned bytes) {
  if (bytes == 0) return 0;
  if (bytes < 8 && (v >> (8 * bytes - 1)) & 1) v |= ~std::uint64_t{0} << (8 * bytes);
  std::int64_t out;
  std::memcpy(&out, &v, sizeof out);
  return out;
}

}  // namespace

std::string printable_text(const std::string& s) {
  constexpr std::size_t kMax = 120;
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) {
      out += "\\x" + hex_byte(c).substr(2);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

const PickleValue* PickleDict::find(const std::string& key) const {
  const auto it = index.find(Key{key});
  return it == index.end() ? nullptr : items[it->second].second.get();
}

std::string PickleValue::type_name() const {
  struct Visitor {
    std::string operator()(const PickleNone&) const { return "None"; }
    std::string operator()(bool) const { return "bool"; }
    std::string operator()(std::int64_t) const { return "int"; }
    std::string operator()(const PickleBigInt&) const { return "int"; }
    std::string operator()(double) const { return "float"; }
    std::string operator()(const std::string&) const { return "str"; }
    std::string operator()(const PickleBytes&) const { return "bytes"; }
    std::string operator()(const PickleTuple&) const { return "tuple"; }
    std::string operator()(const PickleList&) const { return "list"; }
    std::string operator()(const PickleDict& d) const { return d.ordered ? "OrderedDict" : "dict"; }
    std::string operator()(const PickleGlobal& g) const {
      return "'" + printable_text(g.module) + " " + printable_text(g.name) + "'";
    }
    std::string operator()(const PickleStorage&) const { return "storage"; }
    std::string operator()(const PickleTensor&) const { return "tensor"; }
  };
  return std::visit(Visitor{}, data_);
}

// The unpickling machine. Python's unpickler keeps a stack of values and a
// stack of MARK positions; items below the innermost MARK are out of reach.
class Unpickler {
 public:
  Unpickler(const std::uint8_t* data, std::size_t size, std::size_t pos, const std::string& name,
            const PersistentLoad& persistent_load, std::uint64_t base_offset,
            const PickleLimits& limits)
      : data_(data), size_(size), pos_(pos), name_(name), persistent_load_(persistent_load),
        base_offset_(base_offset), limits_(limits) {}

  PickleValuePtr run();
  std::size_t position() const { return pos_; }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    const char* op = op_name(op_);
    throw CheckpointError(name_ + ": " + why + " at offset " + std::to_string(base_offset_ + op_pos_) +
                          (op ? std::string(" (") + op + ")" : std::string()));
  }

  std::string op_label() const {
    const char* n = op_name(op_);
    return n ? n : "opcode " + hex_byte(op_);
  }

  // --- raw input ----------------------------------------------------------
  const std::uint8_t* take(std::uint64_t n) {
    if (n > size_ - pos_) {
      throw CheckpointError(name_ + ": truncated pickle at offset " +
                            std::to_string(base_offset_ + pos_) + " (reading " + op_label() + ")");
    }
    const std::uint8_t* p = data_ + pos_;
    pos_ += static_cast<std::size_t>(n);
    return p;
  }

  std::uint64_t read_le(unsigned n) {
    const std::uint8_t* p = take(n);
    std::uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    return v;
  }

  std::string read_string(std::uint64_t n) {
    const std::uint8_t* p = take(n);
    charge(n);
    return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
  }

  std::string read_line() {
    const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (!nl) take(size_ - pos_ + 1);  // reports the truncation
    const std::size_t n = static_cast<const std::uint8_t*>(nl) - (data_ + pos_);
    std::string line = read_string(n);
    take(1);
    return line;
  }

  // --- memory ---------------------------------------------------------------
  // Counts `bytes` (roughly) against limits_.max_bytes before they are allocated.
  void charge(std::uint64_t bytes) {
    if (bytes > bytes_left_) {
      fail("pickle needs more than " + std::to_string(limits_.max_bytes >> 20) + " MiB of memory to unpickle");
    }
    bytes_left_ -= bytes;
  }

  // A value's own allocation: the object, shared_ptr's control block, malloc's
  // bookkeeping.
  static constexpr std::uint64_t kValueBytes = sizeof(PickleValue) + 32;
  // One more item in a container: the pointer, and a dict's index node.
  static constexpr std::uint64_t kItemBytes = sizeof(PickleValuePtr);
  static constexpr std::uint64_t kIndexNodeBytes = 64 + sizeof(PickleDict::Key);

  // --- stack ----------------------------------------------------------------
  std::size_t mark_base() const { return marks_.empty() ? 0 : marks_.back(); }

  void push(PickleValuePtr v) {
    if (stack_.size() >= limits_.max_stack) fail("pickle stack grows past " + std::to_string(limits_.max_stack) + " items");
    stack_.push_back(std::move(v));
  }

  void push_new(PickleValue::Data d) { push(make_value(std::move(d))); }

  PickleValuePtr make_value(PickleValue::Data d) {
    charge(kValueBytes);
    return std::make_shared<PickleValue>(std::move(d));
  }

  PickleValuePtr pop() {
    if (stack_.size() <= mark_base()) fail("pickle stack underflow");
    PickleValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }

  const PickleValuePtr& top() const {
    if (stack_.size() <= mark_base()) fail("pickle stack underflow");
    return stack_.back();
  }

  std::vector<PickleValuePtr> pop_mark() {
    if (marks_.empty()) fail("pickle has no MARK to pop to");
    const std::size_t base = marks_.back();
    marks_.pop_back();
    std::vector<PickleValuePtr> items(std::make_move_iterator(stack_.begin() + base),
                                      std::make_move_iterator(stack_.end()));
    stack_.resize(base);
    return items;
  }

  // --- containers -------------------------------------------------------------
  // Records that `child` now lives inside `parent`: the child is frozen, the
  // parent's depth grows, and too deep a tree is refused.
  void adopt(PickleValue& parent, PickleValue& child) {
    if (&parent == &child) fail("recursive structure in pickle");
    child.nested_ = true;
    parent.depth_ = std::max(parent.depth_, child.depth_ + 1);
    if (parent.depth_ > limits_.max_depth) fail("pickle nests deeper than " + std::to_string(limits_.max_depth) + " levels");
  }

  PickleValuePtr make_tuple(std::vector<PickleValuePtr> items) {
    charge(items.size() * kItemBytes);
    auto v = make_value(PickleTuple{});
    for (const auto& item : items) adopt(*v, *item);
    std::get<PickleTuple>(v->data_).items = std::move(items);
    return v;
  }

  // A container that may still be filled: not yet inside another one.
  template <class T>
  T& open_container(PickleValue& v, const char* what) {
    T* c = std::get_if<T>(&v.data_);
    if (!c) fail(std::string(what) + " on a " + v.type_name());
    if (v.nested_) fail(std::string(what) + " on a container already inside another (recursive structures are not supported)");
    return *c;
  }

  void append(PickleValue& list, std::vector<PickleValuePtr> items) {
    auto& l = open_container<PickleList>(list, "appending");
    charge(items.size() * kItemBytes);
    for (const auto& item : items) adopt(list, *item);
    l.items.insert(l.items.end(), std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
  }

  void set_items(PickleValue& dict, std::vector<PickleValuePtr> items) {
    auto& d = open_container<PickleDict>(dict, "setting items");
    if (items.size() % 2 != 0) fail("odd number of items for a dict");
    charge(items.size() * kItemBytes);
    for (std::size_t i = 0; i < items.size(); i += 2) {
      adopt(dict, *items[i]);
      adopt(dict, *items[i + 1]);
      PickleDict::Key key = dict_key(*items[i]);  // a copy: charged below
      const auto found = d.index.find(key);
      if (found != d.index.end()) {
        d.items[found->second].second = std::move(items[i + 1]);  // Python keeps the first position
      } else {
        const auto* text = std::get_if<std::string>(&key);
        charge(kIndexNodeBytes + (text ? text->size() : 0));
        d.index.emplace(std::move(key), d.items.size());
        d.items.emplace_back(std::move(items[i]), std::move(items[i + 1]));
      }
    }
  }

  PickleDict::Key dict_key(const PickleValue& v) const {
    if (const auto* s = v.get_if<std::string>()) return *s;
    if (const auto* i = v.get_if<std::int64_t>()) return *i;
    fail("unsupported dict key of type " + v.type_name());
  }

  // --- opcodes --------------------------------------------------------------------
  void op_mark() {
    if (marks_.size() >= static_cast<std::size_t>(limits_.max_depth)) fail("pickle nests more than " + std::to_string(limits_.max_depth) + " MARKs");
    marks_.push_back(stack_.size());
  }

  void op_pop() {
    if (stack_.size() > mark_base()) {
      stack_.pop_back();
    } else {
      pop_mark();  // as Python: POP with nothing above the MARK removes the MARK
    }
  }

  void op_long(std::uint64_t n) {
    if (n > limits_.max_long_bytes) fail("integer of " + std::to_string(n) + " bytes is too long");
    const std::string bytes = read_string(n);
    // Little-endian two's complement; it fits in int64 when every byte past
    // the eighth is a copy of the sign.
    const std::size_t low = std::min<std::size_t>(bytes.size(), 8);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < low; ++i) v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[i])) << (8 * i);
    const std::int64_t value = sign_extend(v, static_cast<unsigned>(low));
    const char sign = value < 0 ? '\xff' : '\0';
    const bool fits = std::all_of(bytes.begin() + low, bytes.end(), [&](char c) { return c == sign; });
    if (fits) {
      push_new(value);
    } else {
      push_new(PickleBigInt{bytes});
    }
  }

  void op_float() {
    const std::uint8_t* p = take(8);
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = bits << 8 | p[i];  // big-endian
    double d;
    std::memcpy(&d, &bits, sizeof d);
    push_new(d);
  }

  void op_global(std::string module, std::string name) {
    if (!is_allowed_global(module, name)) {
      throw CheckpointError(name_ + ": refusing to load '" + printable_text(module) + " " + printable_text(name) +
                            "': only tensors and plain containers are allowed");
    }
    push_new(PickleGlobal{std::move(module), std::move(name)});
  }

  void op_stack_global() {
    const PickleValuePtr name = pop();
    const PickleValuePtr module = pop();
    const auto* m = module->get_if<std::string>();
    const auto* n = name->get_if<std::string>();
    if (!m || !n) fail("STACK_GLOBAL needs two strings");
    op_global(*m, *n);
  }

  void memo_put(std::uint64_t index) {
    const PickleValuePtr& v = top();
    if (memo_.size() >= limits_.max_memo && memo_.find(index) == memo_.end()) {
      fail("pickle memo grows past " + std::to_string(limits_.max_memo) + " entries");
    }
    const auto [it, added] = memo_.try_emplace(index, v);
    if (added) {
      charge(kIndexNodeBytes);
    } else {
      it->second = v;
    }
  }

  void memo_get(std::uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("unknown memo entry " + std::to_string(index));
    push(it->second);
  }

  void op_persid() {
    const PickleValuePtr pid = pop();
    if (!persistent_load_) fail("unexpected persistent id");
    PickleValuePtr v = persistent_load_(*pid);
    if (!v) fail("persistent id was not resolved");
    push(std::move(v));
  }

  void op_reduce();
  std::string latin1_bytes(const PickleValue& text, const PickleValue& encoding);
  PickleValuePtr rebuild_tensor(const std::vector<PickleValuePtr>& args);
  std::vector<std::int64_t> int_tuple(const PickleValue& v, const char* what) const;

  void op_build() {
    const PickleValuePtr state = pop();
    const PickleValuePtr& target = top();
    const auto* d = target->get_if<PickleDict>();
    // torch.save of a state_dict sets its `_metadata` attribute; it only
    // matters to Python's load_state_dict, so it is dropped.
    if (!d || !d->ordered) fail("BUILD on a " + target->type_name() + " is not supported");
  }

  bool step();

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_;
  const std::string& name_;
  const PersistentLoad& persistent_load_;
  std::uint64_t base_offset_;
  const PickleLimits& limits_;

  std::uint64_t bytes_left_ = limits_.max_bytes;
  std::size_t op_pos_ = 0;
  std::uint8_t op_ = 0;
  std::vector<PickleValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, PickleValuePtr> memo_;
  PickleValuePtr result_;
};

std::vector<std::int64_t> Unpickler::int_tuple(const PickleValue& v, const char* what) const {
  const auto* t = v.get_if<PickleTuple>();
  if (!t) fail(std::string("tensor ") + what + " is a " + v.type_name() + ", not a tuple");
  if (t->items.size() > limits_.max_dims) fail(std::string("tensor ") + what + " has too many dimensions");
  std::vector<std::int64_t> out;
  for (const auto& item : t->items) {
    const auto* i = item->get_if<std::int64_t>();
    if (!i) fail(std::string("tensor ") + what + " holds a " + item->type_name() + ", not an int");
    if (*i < 0) fail(std::string("tensor ") + what + " holds a negative value");
    out.push_back(*i);
  }
  return out;
}

// _codecs.encode(text, 'latin1'): the UTF-8 text's code points, all below
// 256, as bytes.
std::string Unpickler::latin1_bytes(const PickleValue& text, const PickleValue& encoding) {
  const auto* s = text.get_if<std::string>();
  const auto* e = encoding.get_if<std::string>();
  if (!s || !e || (*e != "latin1" && *e != "latin-1")) fail("unsupported _codecs.encode call");
  charge(s->size());  // at most one output byte per input byte
  std::string out;
  out.reserve(s->size());
  for (std::size_t i = 0; i < s->size(); ++i) {
    const unsigned char c = static_cast<unsigned char>((*s)[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if ((c & 0xfe) == 0xc2 && i + 1 < s->size() && (static_cast<unsigned char>((*s)[i + 1]) & 0xc0) == 0x80) {
      out += static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>((*s)[++i]) & 0x3f));
    } else {
      fail("_codecs.encode text is not latin-1");
    }
  }
  return out;
}

PickleValuePtr Unpickler::rebuild_tensor(const std::vector<PickleValuePtr>& args) {
  const auto* storage = args[0]->get_if<PickleStorage>();
  if (!storage) fail("tensor built from a " + args[0]->type_name() + " instead of a storage");
  const auto* offset = args[1]->get_if<std::int64_t>();
  if (!offset || *offset < 0) fail("tensor storage offset is not a non-negative int");
  charge(kValueBytes);
  PickleTensor t;
  t.storage = storage->id;
  t.offset = *offset;
  t.sizes = int_tuple(*args[2], "size");
  t.strides = int_tuple(*args[3], "stride");
  if (t.sizes.size() != t.strides.size()) fail("tensor size and stride have different lengths");
  charge(2 * t.sizes.size() * sizeof(std::int64_t));
  return std::make_shared<PickleValue>(std::move(t));
}

// REDUCE calls a callable with a tuple of arguments; only the allowed,
// side-effect-free callables are "called", by building their result here.
void Unpickler::op_reduce() {
  const PickleValuePtr args_value = pop();
  const PickleValuePtr callable = pop();
  const auto* g = callable->get_if<PickleGlobal>();
  const auto* t = args_value->get_if<PickleTuple>();
  if (!g) fail("calling a " + callable->type_name() + " is not supported");
  if (!t) fail("arguments of " + callable->type_name() + " are not a tuple");
  const auto& args = t->items;
  const auto call = [&](const char* module, const char* name, std::size_t min_args, std::size_t max_args) {
    if (g->module != module || g->name != name) return false;
    if (args.size() < min_args || args.size() > max_args) {
      fail(callable->type_name() + " called with " + std::to_string(args.size()) + " arguments");
    }
    return true;
  };
  if (call("collections", "OrderedDict", 0, 0)) {
    PickleDict d;
    d.ordered = true;
    push_new(std::move(d));
  } else if (call("torch._utils", "_rebuild_tensor_v2", 6, 7) ||
             call("torch._utils", "_rebuild_tensor", 4, 4)) {
    push(rebuild_tensor(args));
  } else if (call("_codecs", "encode", 2, 2)) {
    push_new(PickleBytes{latin1_bytes(*args[0], *args[1])});
  } else if (call("__builtin__", "bytes", 0, 0) || call("builtins", "bytes", 0, 0)) {
    push_new(PickleBytes{});
  } else if (call("torch._utils", "_rebuild_parameter", 3, 3)) {
    if (!args[0]->get_if<PickleTensor>()) fail("parameter built from a " + args[0]->type_name());
    push(args[0]);
  } else {
    fail("calling " + callable->type_name() + " is not supported");
  }
}

// Executes one opcode; false at STOP.
bool Unpickler::step() {
  op_pos_ = pos_;
  if (pos_ >= size_) {
    throw CheckpointError(name_ + ": truncated pickle at offset " + std::to_string(base_offset_ + pos_) +
                          " (no STOP opcode)");
  }
  op_ = *take(1);
  switch (op_) {
    case PROTO: {
      const unsigned proto = static_cast<unsigned>(read_le(1));
      if (proto < 2 || proto > 5) fail("unsupported pickle protocol " + std::to_string(proto));
      break;
    }
    case FRAME: {
      // Frames only help buffered readers; their content follows inline.
      const std::uint64_t n = read_le(8);
      if (n > size_ - pos_) take(n);  // reports the truncation
      break;
    }
    case STOP: result_ = pop(); return false;
    case MARK: op_mark(); break;
    case POP: op_pop(); break;
    case POP_MARK: pop_mark(); break;
    case DUP: push(top()); break;
    case NONE: push_new(PickleNone{}); break;
    case NEWTRUE: push_new(true); break;
    case NEWFALSE: push_new(false); break;
    case BININT: push_new(sign_extend(read_le(4), 4)); break;
    case BININT1: push_new(static_cast<std::int64_t>(read_le(1))); break;
    case BININT2: push_new(static_cast<std::int64_t>(read_le(2))); break;
    case LONG1: op_long(read_le(1)); break;
    case LONG4: {
      const std::int64_t n = sign_extend(read_le(4), 4);
      if (n < 0) fail("negative LONG4 length");
      op_long(static_cast<std::uint64_t>(n));
      break;
    }
    case BINFLOAT: op_float(); break;
    case SHORT_BINUNICODE: case SHORT_BINSTRING: push_new(read_string(read_le(1))); break;
    case BINUNICODE: push_new(read_string(read_le(4))); break;
    case BINUNICODE8: push_new(read_string(read_le(8))); break;
    case BINSTRING: {
      const std::int64_t n = sign_extend(read_le(4), 4);
      if (n < 0) fail("negative BINSTRING length");
      push_new(read_string(static_cast<std::uint64_t>(n)));
      break;
    }
    case SHORT_BINBYTES: push_new(PickleBytes{read_string(read_le(1))}); break;
    case BINBYTES: push_new(PickleBytes{read_string(read_le(4))}); break;
    case BINBYTES8: push_new(PickleBytes{read_string(read_le(8))}); break;
    case EMPTY_TUPLE: push_new(PickleTuple{}); break;
    case TUPLE: push(make_tuple(pop_mark())); break;
    case TUPLE1: case TUPLE2: case TUPLE3: {
      std::vector<PickleValuePtr> items(op_ - TUPLE1 + 1);
      for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
      push(make_tuple(std::move(items)));
      break;
    }
    case EMPTY_LIST: push_new(PickleList{}); break;
    case LIST: {
      std::vector<PickleValuePtr> items = pop_mark();
      push_new(PickleList{});
      append(*stack_.back(), std::move(items));
      break;
    }
    case APPEND: {
      PickleValuePtr item = pop();
      append(*top(), {std::move(item)});
      break;
    }
    case APPENDS: {
      std::vector<PickleValuePtr> items = pop_mark();
      append(*top(), std::move(items));
      break;
    }
    case EMPTY_DICT: push_new(PickleDict{}); break;
    case DICT: {
      std::vector<PickleValuePtr> items = pop_mark();
      push_new(PickleDict{});
      set_items(*stack_.back(), std::move(items));
      break;
    }
    case SETITEM: {
      PickleValuePtr value = pop();
      PickleValuePtr key = pop();
      set_items(*top(), {std::move(key), std::move(value)});
      break;
    }
    case SETITEMS: {
      std::vector<PickleValuePtr> items = pop_mark();
      set_items(*top(), std::move(items));
      break;
    }
    case GLOBAL: {
      std::string module = read_line();
      std::string name = read_line();
      op_global(std::move(module), std::move(name));
      break;
    }
    case STACK_GLOBAL: op_stack_global(); break;
    case REDUCE: op_reduce(); break;
    case BUILD: op_build(); break;
    case BINPUT: memo_put(read_le(1)); break;
    case LONG_BINPUT: memo_put(read_le(4)); break;
    case MEMOIZE: memo_put(memo_.size()); break;
    case BINGET: memo_get(read_le(1)); break;
    case LONG_BINGET: memo_get(read_le(4)); break;
    case BINPERSID: op_persid(); break;
    default:
      if (op_name(op_)) fail("unsupported pickle opcode " + hex_byte(op_));
      fail("unknown pickle opcode " + hex_byte(op_));
  }
  return true;
}

PickleValuePtr Unpickler::run() {
  if (pos_ > size_) throw CheckpointError(name_ + ": pickle starts past the end of the data");
  while (step()) {
  }
  return std::move(result_);
}

std::shared_ptr<const PickleValue> read_pickle(const std::uint8_t* data, std::size_t size,
                                               std::size_t* pos, const std::string& name,
                                               const PersistentLoad& persistent_load,
                                               std::uint64_t base_offset,
                                               const PickleLimits& limits) {
  Unpickler u(data, size, *pos, name, persistent_load, base_offset, limits);
  PickleValuePtr v = u.run();
  *pos = u.position();
  return v;
}

}  // namespace gpen
