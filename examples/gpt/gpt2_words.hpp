// GPT-2's pre-tokenization: text split into the words BPE then works on, by GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// with Unicode's letter (L), number (N) and space classes, matched by PCRE2. So "Hello  world's"
// is "Hello", " ", " world", "'s": a run of spaces gives its last space to the word after it.
#pragma once

#include <string_view>
#include <vector>

namespace gpt {

class Gpt2Words {
 public:
  Gpt2Words();
  ~Gpt2Words();
  Gpt2Words(const Gpt2Words&) = delete;
  Gpt2Words& operator=(const Gpt2Words&) = delete;

  // The words of valid UTF-8 text, in order; together they are the whole text.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Pattern;
  Pattern* pattern_;
};

}  // namespace gpt
