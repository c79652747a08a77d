#include "runtime/device.h"

#include <cstdlib>

#include <torch/cuda.h>

#include "runtime/error.h"

namespace gpen {

DeviceRequest DeviceRequest::parse(const std::string& text) {
  DeviceRequest request;
  if (text == "auto" || text.empty()) return request;
  if (text == "cpu") {
    request.kind = Kind::Cpu;
    return request;
  }
  if (text == "cuda") {
    request.kind = Kind::Cuda;
    return request;
  }
  const std::string prefix = "cuda:";
  if (text.compare(0, prefix.size(), prefix) == 0 && text.size() > prefix.size() &&
      text.size() <= prefix.size() + 3) {
    const std::string digits = text.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") == std::string::npos) {
      request.kind = Kind::Cuda;
      request.index = std::atoi(digits.c_str());
      return request;
    }
  }
  throw Error("unknown device '" + text + "' (expected auto, cpu, cuda or cuda:N)");
}

std::string DeviceRequest::to_string() const {
  switch (kind) {
    case Kind::Auto: return "auto";
    case Kind::Cpu: return "cpu";
    case Kind::Cuda: return index < 0 ? "cuda" : "cuda:" + std::to_string(index);
  }
  return "?";
}

int cuda_device_count() {
  return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

torch::Device resolve_device(const DeviceRequest& request) {
  const int count = cuda_device_count();
  switch (request.kind) {
    case DeviceRequest::Kind::Cpu:
      return torch::Device(torch::kCPU);
    case DeviceRequest::Kind::Auto:
      return count > 0 ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    case DeviceRequest::Kind::Cuda: {
      if (count == 0)
        throw Error("device '" + request.to_string() +
                    "' requested, but this build or machine has no CUDA device");
      const int index = request.index < 0 ? 0 : request.index;
      if (index >= count)
        throw Error("device '" + request.to_string() + "' requested, but only " +
                    std::to_string(count) + " CUDA device(s) are present");
      return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
  }
  return torch::Device(torch::kCPU);
}

}  // namespace gpen
