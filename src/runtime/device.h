// Which device the network runs on, from the user's `device` setting.
#pragma once

#include <string>

#include <torch/types.h>

namespace gpen {

// A parsed device setting: "auto", "cpu", "cuda" or "cuda:N".
struct DeviceRequest {
  enum class Kind { Auto, Cpu, Cuda };
  Kind kind = Kind::Auto;
  int index = -1;  // for Cuda: -1 means the first device

  static DeviceRequest parse(const std::string& text);  // throws Error
  std::string to_string() const;
};

// Whether this build and machine can run CUDA, and how many devices it sees.
int cuda_device_count();

// Picks the device for a request: Auto is the first CUDA device when there is
// one, else the CPU. A CUDA request on a machine without CUDA (or with too few
// devices) throws Error: the user asked for something that cannot be honoured.
torch::Device resolve_device(const DeviceRequest& request);

}  // namespace gpen
