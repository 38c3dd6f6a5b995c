// libFuzzer target: any bytes given to the safetensors reader give a file or one heed::Error,
// never a crash, an out-of-bounds read or undefined behaviour (the target is built with ASan
// and UBSan; see tests/fuzz/README.md).
#include <cstdint>
#include <string_view>

#include "engine/heed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const heed::SafetensorsFile file =
        heed::parse_safetensors({reinterpret_cast<const char*>(data), size}, "fuzz input");
    for (const auto& [name, tensor] : file.tensors) (void)tensor.numel();
  } catch (const heed::Error&) {
  }
  return 0;
}
