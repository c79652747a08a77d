#include "shard.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>
#include <stdexcept>

namespace gpen_tools {

namespace {

// A decimal number of at most 9 digits (so it fits), nothing else.
bool parse_count(const std::string& text, unsigned& value) {
  if (text.empty() || text.size() > 9) return false;
  value = 0;
  for (const char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}

// MurmurHash3's 64-bit finaliser. FNV-1a's low bits depend on few of the
// input's bits (its last multiply carries only upwards), and the modulo
// reads the low bits: mixed first, small N split evenly.
std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

std::string Shard::text() const { return std::to_string(index) + "/" + std::to_string(count); }

Shard parse_shard(const std::string& text) {
  const std::size_t slash = text.find('/');
  Shard shard;
  if (slash == std::string::npos || !parse_count(text.substr(0, slash), shard.index) ||
      !parse_count(text.substr(slash + 1), shard.count))
    throw std::invalid_argument("--shard takes K/N, e.g. 0/4 (K counts from 0): not \"" + text +
                                "\"");
  if (shard.count == 0) throw std::invalid_argument("--shard K/N: N must be at least 1");
  if (shard.index >= shard.count)
    throw std::invalid_argument("--shard " + text + ": K counts from 0, so it must be below N (0 to " +
                                std::to_string(shard.count - 1) + ")");
  return shard;
}

std::uint64_t fnv1a64(const std::string& text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string shard_key(const std::string& relative) {
  return std::filesystem::path(relative).replace_extension().generic_string();
}

unsigned shard_of(const std::string& key, unsigned count) {
  if (count <= 1) return 0;
  return static_cast<unsigned>(mix(fnv1a64(key)) % count);
}

void keep_shard(InputList& inputs, const Shard& shard) {
  if (shard.whole()) return;
  auto& items = inputs.items;
  items.erase(std::remove_if(items.begin(), items.end(),
                             [&](const InputItem& item) {
                               return shard_of(shard_key(item.relative), shard.count) != shard.index;
                             }),
              items.end());
}

}  // namespace gpen_tools
