// libFuzzer target for the checkpoint reader: any bytes go through
// load_checkpoint_from_memory, which must either return tensors that respect
// the reader's promises or throw gpen::CheckpointError. Anything else (another
// exception, a sanitizer report, a huge allocation) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "checkpoint/checkpoint.h"
#include "runtime/error.h"

namespace {

// The loader keeps all tensors within 4x the file's size plus 64 MiB (see
// build_state_dict); a result beyond that means the budget leaks.
constexpr std::uint64_t kSlack = 64u << 20;

[[noreturn]] void broken(const char* what, const std::string& key) {
  std::fprintf(stderr, "fuzz_checkpoint: %s (tensor '%s')\n", what, key.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gpen::TensorMap tensors;
  try {
    tensors = gpen::load_checkpoint_from_memory(data, size, "fuzz.pth");
  } catch (const gpen::CheckpointError&) {
    return 0;  // a clean refusal is the expected outcome for most inputs
  }
  std::uint64_t total = 0;
  for (const auto& [key, t] : tensors) {
    if (!t.defined() || !t.is_contiguous() || t.device() != torch::kCPU) broken("not a contiguous CPU tensor", key);
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * t.element_size();
    const auto* p = static_cast<const std::uint8_t*>(t.data_ptr());
    if (p >= data && p < data + size) broken("tensor points into the input", key);
    if (bytes > 0) {  // read both ends, so that ASan checks the tensor's memory
      volatile std::uint8_t ends = static_cast<std::uint8_t>(p[0] ^ p[bytes - 1]);
      (void)ends;
    }
    total += bytes;
  }
  if (total > 4 * static_cast<std::uint64_t>(size) + kSlack) broken("tensors exceed the memory budget", "*");
  return 0;
}
