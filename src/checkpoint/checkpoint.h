// Reading PyTorch `torch.save` checkpoints without Python and without
// executing anything from the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include <torch/types.h>

namespace gpen {

// Tensors by name, as in a state_dict. All tensors are contiguous CPU tensors
// that own their memory (nothing points into the file's bytes).
using TensorMap = std::map<std::string, torch::Tensor>;

// Loads a state_dict from a checkpoint file, in the zip format (torch >= 1.6)
// or the legacy format. The state_dict is the top-level dict of tensors, or the
// dict found under one of the keys "state_dict", "g_ema", "params_ema",
// "params" (tried in that order); a leading "module." on every key is removed.
// Throws CheckpointError naming the file and the reason on any failure.
TensorMap load_checkpoint(const std::string& path);

// The same from bytes in memory; `name` is used in error messages.
TensorMap load_checkpoint_from_memory(const std::uint8_t* data, std::size_t size,
                                      const std::string& name);

}  // namespace gpen
