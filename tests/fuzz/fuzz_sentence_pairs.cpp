// libFuzzer target: any bytes as `bahdanau train --data FILE` (strict or not) give sentence
// pairs, vocabularies and encoded batches, or one heed::Error.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "examples/bahdanau/data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("heed-fuzz-pairs-" + std::to_string(getpid())))
          .string();
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  for (const bool strict : {false, true}) {
    try {
      bahdanau::ReadResult read = bahdanau::read_pairs(path, {.num_examples = 0, .strict = strict});
      (void)bahdanau::build_data(std::move(read.pairs), bahdanau::Tokenizer::Words, 6, 1, 0.2, 0,
                                 nullptr, nullptr);
    } catch (const heed::Error&) {
    }
  }
  return 0;
}
