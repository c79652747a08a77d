#include "checkpoint/zip_archive.h"

#include <algorithm>
#include <array>
#include <vector>
#include <cstring>
#include <utility>

#include "runtime/error.h"

namespace gpen {
namespace {

constexpr std::uint32_t kLocalHeaderSig = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSig = 0x02014b50;
constexpr std::uint32_t kEocdSig = 0x06054b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::uint32_t kZip64EocdSig = 0x06064b50;

constexpr std::uint64_t kEocdSize = 22;
constexpr std::uint64_t kZip64LocatorSize = 20;
constexpr std::uint64_t kZip64EocdSize = 56;
constexpr std::uint64_t kCentralHeaderSize = 46;
constexpr std::uint64_t kLocalHeaderSize = 30;
constexpr std::uint64_t kMaxCommentSize = 0xffff;
// Far more than any checkpoint holds (one entry per storage); it keeps a
// forged count from making us reserve memory for nothing.
constexpr std::uint64_t kMaxEntries = 1000000;

// True when [pos, pos + n) lies inside a buffer of `size` bytes, without
// overflowing.
bool in_bounds(std::uint64_t pos, std::uint64_t n, std::uint64_t size) {
  return pos <= size && n <= size - pos;
}

// An entry name from the file, quoted for a message: bounded, with control
// and non-ASCII bytes as \xNN.
std::string quoted(const std::string& s) {
  static const char digits[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < 120; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) {
      out += std::string("\\x") + digits[c >> 4] + digits[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + (s.size() > 120 ? "...'" : "'");
}

std::string method_name(unsigned method) {
  switch (method) {
    case 8: return "8 (deflate)";
    case 9: return "9 (deflate64)";
    case 12: return "12 (bzip2)";
    case 14: return "14 (lzma)";
    case 93: return "93 (zstd)";
    case 95: return "95 (xz)";
    default: return std::to_string(method);
  }
}

// Little-endian reads over a byte view; every read is checked against the
// view's size and throws CheckpointError("<name>: ...") when it would go outside.
class Reader {
 public:
  Reader(ByteView bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  std::uint64_t u16(std::uint64_t pos) const { return le(pos, 2); }
  std::uint64_t u32(std::uint64_t pos) const { return le(pos, 4); }
  std::uint64_t u64(std::uint64_t pos) const { return le(pos, 8); }

  std::string str(std::uint64_t pos, std::uint64_t n) const {
    check(pos, n);
    return std::string(reinterpret_cast<const char*>(bytes_.data + pos), n);
  }

  void check(std::uint64_t pos, std::uint64_t n) const {
    if (!in_bounds(pos, n, bytes_.size)) {
      throw CheckpointError(name_ + ": truncated or corrupt zip archive (read at offset " +
                            std::to_string(pos) + " goes past byte " +
                            std::to_string(bytes_.size) + ")");
    }
  }

 private:
  std::uint64_t le(std::uint64_t pos, unsigned n) const {
    check(pos, n);
    std::uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) {
      v |= static_cast<std::uint64_t>(bytes_.data[pos + i]) << (8 * i);
    }
    return v;
  }

  ByteView bytes_;
  const std::string& name_;
};

// Slicing-by-8 tables: ~8x faster than a byte-wise CRC, which matters for
// checkpoints of a few hundred megabytes.
using CrcTables = std::array<std::array<std::uint32_t, 256>, 8>;

CrcTables make_crc_tables() {
  CrcTables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t s = 1; s < 8; ++s) {
    for (std::size_t i = 0; i < 256; ++i) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
  return t;
}

}  // namespace

bool looks_like_zip(ByteView bytes) {
  static const std::uint8_t magic[4] = {'P', 'K', 3, 4};
  return bytes.size >= 4 && std::memcmp(bytes.data, magic, 4) == 0;
}

std::uint32_t crc32(ByteView bytes) {
  static const CrcTables t = make_crc_tables();
  std::uint32_t c = 0xffffffffu;
  const std::uint8_t* p = bytes.data;
  std::size_t n = bytes.size;
  for (; n >= 8; p += 8, n -= 8) {
    const std::uint32_t lo = c ^ (p[0] | p[1] << 8 | p[2] << 16 | static_cast<std::uint32_t>(p[3]) << 24);
    const std::uint32_t hi = p[4] | p[5] << 8 | p[6] << 16 | static_cast<std::uint32_t>(p[7]) << 24;
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
        t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
  }
  for (; n > 0; ++p, --n) c = t[0][(c ^ *p) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

ZipArchive::ZipArchive(ByteView bytes, std::string name)
    : bytes_(bytes), name_(std::move(name)) {
  const std::uint64_t eocd = find_eocd();
  const Directory dir = read_directory_location(eocd);
  entries_.reserve(dir.count);
  std::uint64_t pos = dir.offset;
  const std::uint64_t dir_end = dir.offset + dir.size;
  for (std::uint64_t i = 0; i < dir.count; ++i) pos = read_entry(pos, dir_end);
  check_no_overlap();
}

// Entries that share bytes are the "overlapping files" zip bomb: with stored
// entries it cannot blow up memory (entries are views), but every entry read
// checks a CRC over its bytes, so thousands of entries over one large span
// would cost hours of CPU. Disjoint entries bound all reads by the file size.
void ZipArchive::check_no_overlap() const {
  std::vector<std::pair<std::uint64_t, std::size_t>> starts;  // local header offset, entry index
  starts.reserve(entries_.size());
  for (std::size_t i = 0; i < entries_.size(); ++i) starts.emplace_back(entries_[i].header_offset, i);
  std::sort(starts.begin(), starts.end());
  for (std::size_t i = 1; i < starts.size(); ++i) {
    const ZipEntry& before = entries_[starts[i - 1].second];
    const ZipEntry& after = entries_[starts[i].second];
    if (after.header_offset < before.data_offset + before.size) {
      fail("corrupt zip archive (entries " + quoted(before.name) + " and " + quoted(after.name) +
           " overlap)");
    }
  }
}

void ZipArchive::fail(const std::string& why) const {
  throw CheckpointError(name_ + ": " + why);
}

std::uint64_t ZipArchive::find_eocd() const {
  if (bytes_.size < kEocdSize) fail("not a zip archive (too short for an end of central directory)");
  const Reader r(bytes_, name_);
  const std::uint64_t last = bytes_.size - kEocdSize;
  const std::uint64_t first = last > kMaxCommentSize ? last - kMaxCommentSize : 0;
  for (std::uint64_t pos = last + 1; pos-- > first;) {
    if (r.u32(pos) == kEocdSig && pos + kEocdSize + r.u16(pos + 20) <= bytes_.size) return pos;
  }
  fail("truncated or corrupt zip archive (no end of central directory record)");
}

ZipArchive::Directory ZipArchive::read_directory_location(std::uint64_t eocd) const {
  const Reader r(bytes_, name_);
  if (r.u16(eocd + 4) != 0 || r.u16(eocd + 6) != 0) fail("multi-volume zip archives are not supported");
  Directory dir;
  dir.count = r.u16(eocd + 10);
  dir.size = r.u32(eocd + 12);
  dir.offset = r.u32(eocd + 16);
  read_zip64_location(eocd, dir);
  if (dir.count > kMaxEntries) {
    fail("zip archive claims " + std::to_string(dir.count) + " entries (more than " +
         std::to_string(kMaxEntries) + ")");
  }
  if (!in_bounds(dir.offset, dir.size, bytes_.size)) {
    fail("truncated or corrupt zip archive (central directory at " + std::to_string(dir.offset) +
         " + " + std::to_string(dir.size) + " bytes is outside the " +
         std::to_string(bytes_.size) + "-byte file)");
  }
  if (dir.count * kCentralHeaderSize > dir.size) {
    fail("corrupt zip archive (" + std::to_string(dir.count) + " entries cannot fit in a " +
         std::to_string(dir.size) + "-byte central directory)");
  }
  return dir;
}

// ZIP64 archives keep the real directory location in a record found through a
// locator just before the classic end record; torch always writes one.
void ZipArchive::read_zip64_location(std::uint64_t eocd, Directory& dir) const {
  const Reader r(bytes_, name_);
  if (eocd < kZip64LocatorSize || r.u32(eocd - kZip64LocatorSize) != kZip64LocatorSig) return;
  const std::uint64_t locator = eocd - kZip64LocatorSize;
  const std::uint64_t record = r.u64(locator + 8);
  if (record > locator || locator - record < kZip64EocdSize || r.u32(record) != kZip64EocdSig) {
    fail("corrupt zip archive (bad ZIP64 end of central directory record)");
  }
  dir.count = r.u64(record + 32);
  dir.size = r.u64(record + 40);
  dir.offset = r.u64(record + 48);
}

// Parses the central directory entry at `pos`; returns where the next starts.
std::uint64_t ZipArchive::read_entry(std::uint64_t pos, std::uint64_t dir_end) {
  const ByteView dir_bytes{bytes_.data, static_cast<std::size_t>(dir_end)};
  const Reader r(dir_bytes, name_);
  if (!in_bounds(pos, kCentralHeaderSize, dir_end) || r.u32(pos) != kCentralHeaderSig) {
    fail("corrupt zip archive (bad central directory entry at offset " + std::to_string(pos) + ")");
  }
  const std::uint64_t flags = r.u16(pos + 8);
  const std::uint64_t method = r.u16(pos + 10);
  const std::uint64_t name_len = r.u16(pos + 28);
  const std::uint64_t extra_len = r.u16(pos + 30);
  const std::uint64_t comment_len = r.u16(pos + 32);
  ZipEntry entry;
  entry.name = r.str(pos + kCentralHeaderSize, name_len);
  entry.crc32 = static_cast<std::uint32_t>(r.u32(pos + 16));
  std::uint64_t packed = r.u32(pos + 20);
  std::uint64_t size = r.u32(pos + 24);
  std::uint64_t header = r.u32(pos + 42);

  // ZIP64 extra field: 64-bit values for whichever 32-bit fields are saturated,
  // in this fixed order.
  const std::uint64_t extra = pos + kCentralHeaderSize + name_len;
  r.check(extra, extra_len);
  for (std::uint64_t e = extra; e + 4 <= extra + extra_len;) {
    const std::uint64_t id = r.u16(e);
    const std::uint64_t len = r.u16(e + 2);
    if (e + 4 + len > extra + extra_len) fail("corrupt zip archive (bad extra field in entry " + quoted(entry.name) + ")");
    if (id == 0x0001) {
      std::uint64_t f = e + 4;
      const std::uint64_t end = f + len;
      auto take = [&](std::uint64_t& value) {
        if (f + 8 > end) fail("corrupt zip archive (short ZIP64 field in entry " + quoted(entry.name) + ")");
        value = r.u64(f);
        f += 8;
      };
      if (size == 0xffffffff) take(size);
      if (packed == 0xffffffff) take(packed);
      if (header == 0xffffffff) take(header);
    }
    e += 4 + len;
  }

  if (flags & 1) fail("zip entry " + quoted(entry.name) + " is encrypted");
  if (method != 0) {
    fail("zip entry " + quoted(entry.name) + " uses compression method " + method_name(static_cast<unsigned>(method)) +
         "; only stored (uncompressed) entries are supported");
  }
  if (packed != size) fail("corrupt zip archive (stored entry " + quoted(entry.name) + " has two different sizes)");
  entry.size = size;
  entry.header_offset = header;
  entry.data_offset = locate_data(entry.name, header, size);
  if (!by_name_.emplace(entry.name, entries_.size()).second) {
    fail("corrupt zip archive (entry " + quoted(entry.name) + " appears twice)");
  }
  entries_.push_back(std::move(entry));
  return extra + extra_len + comment_len;
}

// Finds an entry's bytes behind its local header, whose name and extra field
// lengths may differ from the central directory's (torch pads the extra field
// to align tensor data).
std::uint64_t ZipArchive::locate_data(const std::string& entry_name, std::uint64_t header,
                                      std::uint64_t size) const {
  const Reader r(bytes_, name_);
  if (!in_bounds(header, kLocalHeaderSize, bytes_.size) || r.u32(header) != kLocalHeaderSig) {
    fail("truncated or corrupt zip archive (no local header for entry " + quoted(entry_name) +
         " at offset " + std::to_string(header) + ")");
  }
  if (r.u16(header + 8) != 0) {
    fail("zip entry " + quoted(entry_name) + " uses compression method " +
         method_name(static_cast<unsigned>(r.u16(header + 8))) +
         "; only stored (uncompressed) entries are supported");
  }
  const std::uint64_t data = header + kLocalHeaderSize + r.u16(header + 26) + r.u16(header + 28);
  if (!in_bounds(data, size, bytes_.size)) {
    fail("truncated or corrupt zip archive (entry " + quoted(entry_name) + " of " + std::to_string(size) +
         " bytes at offset " + std::to_string(data) + " goes past the end of the " +
         std::to_string(bytes_.size) + "-byte file)");
  }
  return data;
}

const ZipEntry* ZipArchive::find(const std::string& entry_name) const {
  const auto it = by_name_.find(entry_name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

ByteView ZipArchive::read(const ZipEntry& entry) const {
  if (!in_bounds(entry.data_offset, entry.size, bytes_.size)) {
    fail("zip entry " + quoted(entry.name) + " is outside the archive");
  }
  const ByteView view{bytes_.data + entry.data_offset, static_cast<std::size_t>(entry.size)};
  // Fuzzing builds skip the CRC, as is customary: otherwise nearly every
  // mutation of an entry would stop here and never reach the unpickler.
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  if (entry.crc32 != 0 && crc32(view) != entry.crc32) {
    fail("corrupt zip archive (CRC-32 mismatch in entry " + quoted(entry.name) + ")");
  }
#endif
  return view;
}

}  // namespace gpen
