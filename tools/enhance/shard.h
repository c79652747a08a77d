// --shard K/N: which inputs one of N cooperating runs (a Slurm array task,
// a Kubernetes Indexed Job's pod, a machine of a fleet) takes.
//
// Each input goes to shard fnv1a64(key) mixed, modulo N, where the key is
// the input's path relative to the folder it was found in (a file named on
// the command line: its name), less its extension. A hash of the name,
// not a position in a listing, so that runs on different machines, re-runs
// after new files arrived and re-submitted shards all agree on who owns an
// image without sharing any state. Changing this function reassigns images
// between shards: tests pin its values.
#pragma once

#include <cstdint>
#include <string>

#include "inputs.h"

namespace gpen_tools {

struct Shard {
  unsigned index = 0;  // K, 0-based like SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX
  unsigned count = 1;  // N; 1: the whole run
  bool whole() const { return count == 1; }
  std::string text() const;  // "K/N"
};

// "K/N" with 0 <= K < N (decimal, no signs or spaces); throws
// std::invalid_argument with a message for the user otherwise.
Shard parse_shard(const std::string& text);

// FNV-1a, 64 bits, of the bytes of `text`.
std::uint64_t fnv1a64(const std::string& text);

// The key an input is sharded by: `relative` (its path under its input
// root) without its extension. photo.jpg and photo.tif may both want
// photo.png under OUTPUT (--format png); with one key they are always in
// one shard, where the run's own name-clash rule sees both.
std::string shard_key(const std::string& relative);

// The shard (0 to count-1) that owns `key`.
unsigned shard_of(const std::string& key, unsigned count);

// Keeps the items `shard` owns. A folder that is empty, or an input that
// is not there, stays a problem of every shard: none of them can tell
// whose it would have been.
void keep_shard(InputList& inputs, const Shard& shard);

}  // namespace gpen_tools
