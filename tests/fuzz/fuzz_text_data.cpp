// libFuzzer target: any bytes as `gpt train --data FILE` gives a text task (strict UTF-8,
// vocabulary, batches) or one heed::Error.
#include <cstdint>

#include "examples/gpt/tasks.hpp"
#include "tests/fuzz/input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = heed::fuzz::write_input_file("text", data, size);
  try {
    const gpt::TextTask task(path, 8, nullptr);
    heed::Generator generator(0);
    (void)task.batch(2, true, generator);
  } catch (const heed::Error&) {
  }
  return 0;
}
