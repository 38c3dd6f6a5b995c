// A trained translator as a checkpoint holds it: the model, both vocabularies, the tokenizer and
// num_steps, so sentences are prepared exactly as in training.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "examples/bahdanau/data.hpp"
#include "examples/bahdanau/decode.hpp"
#include "examples/bahdanau/model.hpp"

namespace bahdanau {

// The range of the decoding flags (shown by --help, checked before any work).
namespace decode_limits {
inline constexpr examples::IntRange beam{1, 1000};
inline constexpr examples::RealRange alpha{0, 10};
inline constexpr examples::IntRange max_steps{0, 1024};  // 0: the model's num_steps
}  // namespace decode_limits

struct Translator {
  std::unique_ptr<Seq2Seq> model;
  Vocab source_vocab, target_vocab;
  Tokenizer tokenizer = Tokenizer::Words;
  int64_t num_steps = 10;
  heed::nn::Metadata metadata;

  // Raw sentences -> preprocessed tokens, and the batch the encoder reads.
  std::vector<std::string> source_tokens(const std::string& sentence) const;
  Encoded encode(const std::vector<std::string>& sentences) const;
  // Target ids -> text: words joined by spaces; the date task's characters joined directly.
  std::string detokenize(const std::vector<int64_t>& ids) const;
  std::vector<std::string> target_tokens(const std::vector<int64_t>& ids) const;
  // Greedy (beam 1) or beam search; max_steps 0 means num_steps.
  std::vector<Translation> translate(const std::vector<std::string>& sentences, int64_t beam = 1,
                                     double alpha = 0.75, int64_t max_steps = 0) const;
};

// The metadata every checkpoint of this program carries.
heed::nn::Metadata translator_metadata(const Seq2SeqConfig& config, const Vocab& source_vocab,
                                       const Vocab& target_vocab, Tokenizer tokenizer,
                                       int64_t num_steps);

// A vocabulary saved in a checkpoint's metadata under `key`; heed::Error naming the checkpoint
// when it is missing or unreadable.
Vocab vocab_from_metadata(const heed::nn::Metadata& metadata, const std::string& key,
                          const std::string& checkpoint);

// heed::Error when the file is missing, damaged, or not a checkpoint of this program. The model
// is placed on `device`.
Translator load_translator(const std::string& checkpoint, heed::Device device = heed::kCPU);

// The attention of one translation as a heatmap: target tokens down, source tokens across.
void write_attention_heatmap(const std::string& path, const Translator& translator,
                             const std::string& sentence, const Translation& translation);

}  // namespace bahdanau
