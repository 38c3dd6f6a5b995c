// The examples' --device flag: "cpu" (the default), "cuda" or "cuda:N". Using a GPU loads the
// CUDA plugin on first use; where it cannot (no plugin, driver or GPU) heed::Error says why.
#pragma once

#include <string>

#include "engine/heed.hpp"
#include "nn/module.hpp"

namespace examples {

inline heed::Device parse_device(const std::string& name) {
  if (name == "cpu") return heed::kCPU;
  if (name == "cuda") return heed::Device::cuda();
  if (name.rfind("cuda:", 0) == 0 && name.size() > 5 &&
      name.find_first_not_of("0123456789", 5) == std::string::npos) {
    return heed::Device::cuda(std::stoi(name.substr(5)));
  }
  heed::fail("unknown device '{}' (expected cpu, cuda or cuda:N)", name);
}

// For progress lines: "1 thread", "2 threads" on the CPU; "cuda:0" on a GPU.
inline std::string describe_device(heed::Device device) {
  if (!device.is_cpu()) return device.str();
  const int threads = heed::get_num_threads();
  return fmt::format("{} thread{}", threads, threads == 1 ? "" : "s");
}

// For progress lines: "peak 312 MB  " of host tensor memory on the CPU (heed::memory_stats);
// nothing on a GPU, whose plugin does not count its memory.
inline std::string peak_memory(heed::Device device) {
  if (!device.is_cpu()) return "";
  return fmt::format("peak {:.0f} MB  ", double(heed::memory_stats().peak_bytes) / 1e6);
}

// The device a module's parameters live on (the CPU for a module without parameters).
inline heed::Device device_of(const heed::nn::Module& module) {
  const std::vector<heed::Tensor> parameters = module.parameters();
  return parameters.empty() ? heed::kCPU : parameters.front().device();
}

}  // namespace examples
