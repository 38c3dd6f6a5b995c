// GPT-2's tokenizer: byte-level BPE, giving the ids transformers' GPT2TokenizerFast gives.
//
// Encoding, in four steps:
//   1. added tokens (such as <|endoftext|>) are cut out of the text first and map to their ids;
//   2. the rest is split into words by GPT-2's pattern (contractions, letters, digits, other
//      symbols, each with at most one leading space; runs of whitespace), with real Unicode
//      letter and number classes (PCRE2);
//   3. each word's UTF-8 bytes become printable characters through GPT-2's byte-to-unicode
//      table (a space is "Ġ"), one symbol per byte;
//   4. adjacent symbols merge, the pair with the best rank in merges.txt first, until no listed
//      pair is left; each final symbol is looked up in vocab.json.
// Decoding maps the tokens' characters back to bytes and reads them as UTF-8, replacing what is
// not valid as transformers does (errors="replace").
//
// Every file it reads is untrusted: sizes, ids and entries are checked, and a bad file is a
// heed::Error naming the file and what is wrong.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gpt {

class ByteLevelBPE {
 public:
  // Reads a Hugging Face tokenizer folder: vocab.json and merges.txt (or, without them, the
  // model inside tokenizer.json), and added tokens from tokenizer.json (or
  // tokenizer_config.json's added_tokens_decoder).
  static ByteLevelBPE from_folder(const std::string& folder);

  // From the three parts directly (contents of vocab.json and merges.txt, and the added tokens
  // as content -> id). `where` names them in errors.
  ByteLevelBPE(const std::string& vocab_json, const std::string& merges_txt,
               std::vector<std::pair<std::string, int64_t>> added_tokens, const std::string& where);
  ~ByteLevelBPE();
  ByteLevelBPE(ByteLevelBPE&&) noexcept;
  ByteLevelBPE& operator=(ByteLevelBPE&&) noexcept;

  // Text in, ids out. Bytes that are not UTF-8 are first replaced as Python's errors="replace"
  // reads them.
  std::vector<int64_t> encode(std::string_view text) const;
  // Ids back to text (added tokens included, as GPT2TokenizerFast.decode does by default).
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t vocab_size() const;  // the largest id + 1, added tokens included
  // Every id this tokenizer can give is below a model's `model_vocab_size`, or a heed::Error that
  // starts with `where`.
  void check_fits(int64_t model_vocab_size, const std::string& where) const;
  // The id of an added token, such as "<|endoftext|>", or -1.
  int64_t added_token_id(const std::string& content) const;

  // The tables as Hugging Face writes them, to save with a checkpoint or export: vocab.json's
  // text (ids in order), merges.txt's (best rank first, after a "#version" line), and the added
  // tokens (content, id).
  std::string vocab_json() const;
  std::string merges_txt() const;
  std::vector<std::pair<std::string, int64_t>> added_tokens() const;

  // All three in one JSON object, as a checkpoint's "tokenizer" entry keeps them:
  // {"vocab": {token: id}, "merges": ["first second", ...], "added_tokens": [{"content", "id"}]}.
  std::string to_json() const;
  // Reads that object back, checked as untrusted like the files; `where` names it in errors.
  static ByteLevelBPE from_json(const std::string& text, const std::string& where);

 private:
  struct Tables;
  std::unique_ptr<Tables> tables_;
  void encode_word(std::string_view word, std::vector<int64_t>& ids) const;
};

}  // namespace gpt
