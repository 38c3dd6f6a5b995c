// libFuzzer target: any bytes given as a checkpoint to the loaders of both examples give a
// loaded model or one heed::Error. The input is parsed as a safetensors file, its metadata goes
// through the examples' config, settings and vocabulary readers, and its tensors are loaded
// strictly into a small GPT with AdamW state (the names, shapes, optimizer entries and
// generator state a real resume checks).
#include <cstdint>

#include "examples/bahdanau/translator.hpp"
#include "examples/gpt/model.hpp"
#include "examples/gpt/tasks.hpp"
#include "tests/fuzz/input_file.hpp"
#include "tests/fuzz/seed_models.hpp"

namespace {

template <typename Read>
void try_read(Read read) {
  try {
    read();
  } catch (const heed::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = heed::fuzz::write_input_file("checkpoint", data, size);
  const std::string where = "fuzz checkpoint";
  heed::nn::Metadata metadata;
  try {
    metadata = heed::nn::read_checkpoint_metadata(path);
  } catch (const heed::Error&) {
    return 0;
  }
  for (const auto& entry : metadata) {
    const std::string &key = entry.first, &value = entry.second;
    try_read([&] { gpt::GPTConfig::from_json(value, where); });
    try_read([&] { gpt::Vocabulary::from_json(value, where); });
    try_read([&] { bahdanau::Seq2SeqConfig::from_json(value, where); });
    try_read([&] { bahdanau::vocab_from_metadata(metadata, key, where); });
  }
  try_read([&] {
    heed::fuzz::SeedModel seed;
    heed::nn::load_checkpoint(path, *seed.model, seed.optimizer.get());
  });
  return 0;
}
