// Where a tensor's storage lives. CPU is built in; CUDA is a plugin loaded on first use.
#pragma once

#include <cstdint>
#include <string>

namespace heed {

enum class DeviceType : int32_t { CPU = 0, CUDA = 1 };

struct Device {
  DeviceType type = DeviceType::CPU;
  int32_t index = 0;

  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int32_t index = 0) { return {DeviceType::CUDA, index}; }

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool operator==(const Device&) const = default;
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

inline const Device kCPU = Device::cpu();

}  // namespace heed
