// A minimal, bounds-checked reader of ZIP archives held in memory, enough for
// the archives `torch.save` writes: entries are stored (not compressed), the
// central directory may use ZIP64 records. Nothing is copied: entries are
// views into the caller's buffer, which must outlive the archive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace gpen {

// A read-only view of bytes owned by someone else.
struct ByteView {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

struct ZipEntry {
  std::string name;
  std::uint64_t header_offset = 0;  // where the entry's local header starts
  std::uint64_t data_offset = 0;    // where the entry's bytes start in the archive
  std::uint64_t size = 0;
  std::uint32_t crc32 = 0;
};

// True when the bytes start like a ZIP archive (a local file header).
bool looks_like_zip(ByteView bytes);

// The CRC-32 (ISO-HDLC, as in ZIP) of `bytes`.
std::uint32_t crc32(ByteView bytes);

class ZipArchive {
 public:
  // Parses the central directory; throws CheckpointError("<name>: ...") when
  // the archive is malformed, truncated, uses anything but stored entries, or
  // has entries that share bytes.
  ZipArchive(ByteView bytes, std::string name);

  const std::vector<ZipEntry>& entries() const { return entries_; }

  // The entry called `entry_name`, or nullptr.
  const ZipEntry* find(const std::string& entry_name) const;

  // The bytes of an entry of this archive, after checking its CRC-32 (a CRC
  // of 0 is taken as "not computed", as torch can be told not to write it).
  ByteView read(const ZipEntry& entry) const;

 private:
  struct Directory {
    std::uint64_t count = 0;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
  };

  [[noreturn]] void fail(const std::string& why) const;
  std::uint64_t find_eocd() const;
  Directory read_directory_location(std::uint64_t eocd) const;
  void read_zip64_location(std::uint64_t eocd, Directory& dir) const;
  void check_no_overlap() const;
  std::uint64_t read_entry(std::uint64_t pos, std::uint64_t dir_end);
  std::uint64_t locate_data(const std::string& entry_name, std::uint64_t header,
                            std::uint64_t size) const;

  ByteView bytes_;
  std::string name_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, std::size_t> by_name_;
};

}  // namespace gpen
