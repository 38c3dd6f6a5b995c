// libFuzzer target: any bytes as `gpt train --data FILE` gives a text task (strict UTF-8,
// vocabulary, batches) or one heed::Error.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "examples/gpt/tasks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("heed-fuzz-text-" + std::to_string(getpid())))
          .string();
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    const gpt::TextTask task(path, 8, nullptr);
    heed::Generator generator(0);
    (void)task.batch(2, true, generator);
  } catch (const heed::Error&) {
  }
  return 0;
}
