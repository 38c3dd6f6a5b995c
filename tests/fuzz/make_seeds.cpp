// Writes the fuzz targets' seed corpora (tests/fuzz/corpus/, committed): small valid inputs of
// each kind, from which libFuzzer mutates. Run: make_seeds tests/fuzz/corpus
#include <filesystem>
#include <fstream>

#include "examples/bahdanau/model.hpp"
#include "tests/fuzz/seed_models.hpp"

namespace fs = std::filesystem;
using namespace heed;

namespace {

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: make_seeds CORPUS_DIR\n");
    return 2;
  }
  const fs::path corpus = argv[1];
  manual_seed(1);
  fs::create_directories(corpus / "safetensors");
  save_safetensors(corpus / "safetensors" / "mixed.safetensors",
                   {{"f32", randn({2, 3})},
                    {"f64", randn({2}, {kFloat64})},
                    {"i64", int_tensor({1, 2, 3})},
                    {"empty", zeros({0, 4})}},
                   {{"note", "seed"}});
  save_safetensors(corpus / "safetensors" / "scalar.safetensors", {{"s", scalar_tensor(1.5)}});

  // A checkpoint as `gpt train` writes one, after one optimizer step, and the same weights with
  // a translator's metadata, so the config and vocabulary readers of both programs see inputs.
  fuzz::SeedModel seed;
  seed.model->forward(int_tensor({0, 1, 2, 3}, {1, 4})).sum().backward();
  seed.optimizer->step();
  fs::create_directories(corpus / "checkpoint");
  nn::save_checkpoint(corpus / "checkpoint" / "gpt.safetensors", *seed.model, seed.optimizer.get(),
                      {{"config", fuzz::seed_config().to_json()},
                       {"vocabulary", R"(["a","b","c","d","é"])"},
                       {"step", "1"}});
  bahdanau::Seq2SeqConfig translator;
  translator.source_vocab = 6, translator.target_vocab = 5;
  nn::save_checkpoint(corpus / "checkpoint" / "bahdanau-metadata.safetensors", *seed.model, nullptr,
                      {{"program", "bahdanau"},
                       {"config", translator.to_json()},
                       {"source_vocab", R"(["<unk>","<pad>","<bos>","<eos>","go","."])"},
                       {"target_vocab", R"(["<unk>","<pad>","<bos>","<eos>","va"])"},
                       {"num_steps", "10"}});

  write(corpus / "text_data" / "shakespeare.txt",
        "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"
        "Qu'il était beau, ce soleil d'été — naïve ou pas.\n");
  write(
      corpus / "sentence_pairs" / "fra.txt",
      "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #1158250 (Wittydev)\n"
      "Hi.\tSalut !\n"
      "I'm home.\tJe suis chez moi.\n"
      "It's 5\u202fo'clock.\tIl est 5\u00a0heures.\n");
  fmt::print("seed corpora written to {}\n", corpus.string());
  return 0;
}
