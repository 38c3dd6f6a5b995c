// The translation data pipeline, as d2l.ai builds it for machine translation:
//   read tab-separated sentence pairs -> preprocess (spaces, lower case, punctuation apart)
//   -> word tokens -> vocabularies (min_freq, reserved <pad> <bos> <eos>, <unk> for the rest)
//   -> ids + <eos>, truncated or padded to num_steps, with each sentence's valid length.
// The built-in date task (dates.hpp) feeds the same pipeline with its own tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/heed.hpp"

namespace bahdanau {

using heed::Tensor;

struct SentencePair {
  std::string source, target;  // preprocessed text
};

// d2l's preprocess_nmt: the narrow and ordinary non-breaking spaces (U+202F, U+00A0) become
// spaces, letters are lower-cased (ASCII, Latin-1 and Latin Extended-A, enough for French,
// Vietnamese's base letters and English), and a space is put before , . ! ? unless one is there.
std::string preprocess(const std::string& text);

// How a preprocessed sentence becomes tokens:
//   words  split at spaces (d2l's tokenize_nmt)
//   dates  letter runs are words, every digit and every other mark is a token of its own, so
//          "21/11/26" is 2 1 / 1 1 / 2 6 (the date task; see dates.hpp)
enum class Tokenizer { Words, Dates };
std::vector<std::string> tokenize(const std::string& sentence, Tokenizer tokenizer);
std::string tokenizer_name(Tokenizer tokenizer);
Tokenizer tokenizer_from_name(const std::string& name);  // heed::Error for an unknown name

struct ReadOptions {
  int64_t num_examples = 0;  // > 0: only the first N pairs (d2l uses 600)
  bool strict = false;       // fail on the first malformed line instead of skipping it
};

struct ReadResult {
  std::vector<SentencePair> pairs;
  int64_t skipped = 0;        // malformed lines left out
  std::string first_problem;  // "line 12: ..." for the first of them
};

// Tatoeba's format: "source<TAB>target" or "source<TAB>target<TAB>attribution" per line.
// A line with another number of columns, or an empty side, is malformed. A missing file, an
// unreadable one, or one without a single pair is a heed::Error naming the path.
ReadResult read_pairs(const std::string& path, const ReadOptions& options = {});

// d2l's Vocab: id 0 is <unk>, then <pad> <bos> <eos>, then every token seen at least min_freq
// times, most frequent first (ties in order of first appearance, as Python's stable sort leaves
// them). Unknown tokens map to <unk>.
class Vocab {
 public:
  Vocab() = default;
  Vocab(const std::vector<std::vector<std::string>>& sentences, int64_t min_freq);
  explicit Vocab(std::vector<std::string> tokens);  // as saved in a checkpoint
  int64_t id(const std::string& token) const;
  std::vector<int64_t> encode(const std::vector<std::string>& tokens) const;
  const std::string& token(int64_t id) const;  // heed::Error for an id out of range
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  const std::vector<std::string>& tokens() const { return tokens_; }
  static constexpr int64_t unk = 0, pad = 1, bos = 2, eos = 3;

 private:
  std::vector<std::string> tokens_;
  std::vector<std::pair<std::string, int64_t>> sorted_ids_;  // for lookup by binary search
  void index();
};

// Sentences as a model reads them.
struct Encoded {
  Tensor tokens;      // (N, num_steps) int64: ids, then <eos>, then <pad> (cut at num_steps)
  Tensor valid_lens;  // (N,) int64: tokens before the padding
};

// d2l's build_array_nmt.
Encoded encode_sentences(const std::vector<std::vector<std::string>>& sentences, const Vocab& vocab,
                         int64_t num_steps);

// Everything training and evaluation need, built from pairs.
struct TranslationData {
  Tokenizer tokenizer = Tokenizer::Words;
  int64_t num_steps = 10;
  Vocab source_vocab, target_vocab;
  std::vector<SentencePair> train_pairs, val_pairs;
  Encoded train_source, train_target;
};

// Splits off a seeded random val_fraction of the pairs for evaluation, builds the
// vocabularies from the training pairs (or takes the given ones, when resuming or evaluating a
// checkpoint) and encodes the training pairs.
TranslationData build_data(std::vector<SentencePair> pairs, Tokenizer tokenizer, int64_t num_steps,
                           int64_t min_freq, double val_fraction, uint64_t split_seed,
                           const Vocab* source_vocab = nullptr,
                           const Vocab* target_vocab = nullptr);

// A seeded random order of 0 .. n-1 (Fisher-Yates).
std::vector<int64_t> permutation(int64_t n, heed::Generator& generator);

}  // namespace bahdanau
