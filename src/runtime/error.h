// Errors raised by the core library. Every message is meant for a user: it
// says what was being done, on what, and why it failed.
#pragma once

#include <stdexcept>
#include <string>

namespace gpen {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A checkpoint file could not be read: missing, truncated, corrupt, or it
// holds something other than tensors and plain containers.
class CheckpointError : public Error {
 public:
  using Error::Error;
};

// A state_dict does not fit the network (missing, unexpected or mis-shaped key).
class ModelError : public Error {
 public:
  using Error::Error;
};

}  // namespace gpen
