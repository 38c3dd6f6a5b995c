// What the GPT example trains on. Every task turns into batches of (inputs, targets), both
// (B, T) int64, where a target of -100 is not counted in the loss.
//   addition  minGPT's adder: the digits of a, the digits of b, then the digits of a + b
//             reversed (so each output digit depends on digits already seen). Only the sum is
//             scored. Held-out pairs measure exact-match accuracy.
//   sort      a list of small numbers followed by the same list sorted; only the sorted half
//             is scored.
//   text      language modelling on a UTF-8 file: random contiguous blocks, 90% train, 10%
//             validation; characters are the tokens, or GPT-2's byte-level BPE when a
//             pretrained model is fine-tuned (train --init-from).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/heed.hpp"
#include "examples/gpt/byte_level_bpe.hpp"

namespace gpt {

using heed::Tensor;

struct Batch {
  Tensor inputs, targets;  // (B, T) int64
};

// A character vocabulary: UTF-8 characters <-> ids.
class Vocabulary {
 public:
  Vocabulary() = default;
  explicit Vocabulary(std::vector<std::string> symbols);
  static Vocabulary from_text(const std::string& text);  // every distinct character, sorted
  // A checkpoint's "vocabulary" entry: a JSON list of distinct one-character strings.
  static Vocabulary from_json(const std::string& text, const std::string& where);
  std::vector<int64_t> encode(const std::string& text) const;  // heed::Error naming a bad char
  std::string decode(const std::vector<int64_t>& ids) const;
  int64_t size() const { return static_cast<int64_t>(symbols_.size()); }
  const std::vector<std::string>& symbols() const { return symbols_; }

 private:
  std::vector<std::string> symbols_;
};

// Splits UTF-8 text into characters; heed::Error on invalid UTF-8 (strictly: see
// examples::check_utf8), naming `where` and the byte offset.
std::vector<std::string> utf8_characters(const std::string& text,
                                         const std::string& where = "the text");

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual int64_t vocab_size() const = 0;
  // The character vocabulary, or null where the tokens are not characters (GPT-2's BPE).
  virtual const Vocabulary* vocabulary() const = 0;
  virtual int64_t block_size() const = 0;  // the context the model needs
  virtual Batch batch(int64_t batch_size, bool validation, heed::Generator& generator) const = 0;
  // For tasks with one right answer: the prompt length, and the accuracy of greedy answers on
  // the held-out set (exact match), with a few examples printed by the caller.
  virtual bool has_exact_answers() const { return false; }
};

// The n-digit adder: sequences of 3n + 1 digits; pairs split into train and held-out sets.
class AdditionTask : public Task {
 public:
  AdditionTask(int64_t digits, uint64_t seed);
  std::string name() const override { return "addition"; }
  int64_t vocab_size() const override { return vocabulary_.size(); }
  const Vocabulary* vocabulary() const override { return &vocabulary_; }
  int64_t block_size() const override { return 3 * digits_; }
  Batch batch(int64_t batch_size, bool validation, heed::Generator& generator) const override;
  bool has_exact_answers() const override { return true; }

  int64_t digits() const { return digits_; }
  std::vector<int64_t> sequence(int64_t a, int64_t b) const;  // the 3n + 1 digits
  const std::vector<std::pair<int64_t, int64_t>>& held_out() const { return held_out_; }

 private:
  int64_t digits_;
  Vocabulary vocabulary_;
  std::vector<std::pair<int64_t, int64_t>> train_, held_out_;
};

// Sort `length` numbers in [0, values): sequences of 2 * length tokens.
class SortTask : public Task {
 public:
  SortTask(int64_t length, int64_t values);
  std::string name() const override { return "sort"; }
  int64_t vocab_size() const override { return vocabulary_.size(); }
  const Vocabulary* vocabulary() const override { return &vocabulary_; }
  int64_t block_size() const override { return 2 * length_ - 1; }
  Batch batch(int64_t batch_size, bool validation, heed::Generator& generator) const override;
  bool has_exact_answers() const override { return true; }
  int64_t length() const { return length_; }

 private:
  int64_t length_, values_;
  Vocabulary vocabulary_;
};

// Language modelling on a text file.
class TextTask : public Task {
 public:
  // Characters as tokens: the file's own vocabulary, or a checkpoint's.
  TextTask(const std::string& path, int64_t block_size, const Vocabulary* vocabulary = nullptr);
  // GPT-2's byte-level BPE tokens, for a model of `vocab_size` ids (at least the tokenizer's).
  TextTask(const std::string& path, int64_t block_size, const ByteLevelBPE& tokenizer,
           int64_t vocab_size);
  std::string name() const override { return "text"; }
  int64_t vocab_size() const override { return vocab_size_; }
  const Vocabulary* vocabulary() const override { return characters_ ? &vocabulary_ : nullptr; }
  int64_t block_size() const override { return block_size_; }
  Batch batch(int64_t batch_size, bool validation, heed::Generator& generator) const override;
  // Every token id, training part then validation part (a data-parallel job compares them).
  heed::Tensor ids() const;

 private:
  // Splits the ids 90/10; `unit` names them in the error for a file too short.
  void split(const std::vector<int64_t>& ids, const std::string& path, const char* unit);

  int64_t block_size_;
  bool characters_;
  Vocabulary vocabulary_;  // characters only
  int64_t vocab_size_ = 0;
  std::vector<int64_t> train_, validation_;
};

}  // namespace gpt
