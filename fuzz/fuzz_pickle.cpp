// libFuzzer target for the restricted unpickler alone: consecutive pickles
// (as in a legacy checkpoint) read with a persistent-id loader that accepts
// anything, so that mutations reach deep into REDUCE, tensors and containers
// without having to get a zip archive right first.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "checkpoint/pickle_reader.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const gpen::PersistentLoad any_storage = [](const gpen::PickleValue& pid) {
    return std::make_shared<gpen::PickleValue>(gpen::PickleStorage{pid.depth() > 0 ? 1u : 0u});
  };
  std::size_t pos = 0;
  try {
    for (int i = 0; i < 5 && pos < size; ++i) {
      const std::size_t before = pos;
      const auto value = gpen::read_pickle(data, size, &pos, "fuzz.pkl", any_storage);
      if (!value || pos <= before || pos > size) __builtin_trap();  // read_pickle's contract
      (void)value->type_name();
    }
  } catch (const gpen::CheckpointError&) {
  }
  return 0;
}
