// libFuzzer target: any bytes as `bahdanau train --data FILE` (strict or not) give sentence
// pairs, vocabularies and encoded batches, or one heed::Error.
#include <cstdint>

#include "examples/bahdanau/data.hpp"
#include "tests/fuzz/input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = heed::fuzz::write_input_file("pairs", data, size);
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
