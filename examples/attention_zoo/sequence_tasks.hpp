// The sequence tasks, generated from a seed so nothing is downloaded:
//   seq2seq    human dates to ISO 8601, character by character (examples/bahdanau's generator)
//   summarize  an English sentence from Tatoeba with 2 or 3 words marked by "*"; the target is
//              the marked words in order (an extraction the attention must point at)
//   ner        the tokens of a human date, each tagged day, month, year, weekday or other
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace zoo {

using Tokens = std::vector<std::string>;

struct Example {
  Tokens source, target;  // for ner, target holds one tag per source token
};

struct TaskData {
  std::vector<Example> train, held_out;
};

TaskData date_task(int64_t train, int64_t held_out, uint64_t seed);
// words_path: tab-separated pairs whose first column is English (Tatoeba's fra.txt).
TaskData summarize_task(const std::string& words_path, int64_t train, int64_t held_out,
                        uint64_t seed);
TaskData ner_task(int64_t train, int64_t held_out, uint64_t seed);

std::string default_tatoeba_path();

inline const std::vector<std::string> kNerTags = {"other", "day", "month", "year", "weekday"};

// A human date's tokens: runs of letters and digits, and each other character but spaces alone.
Tokens date_tokens(const std::string& text);
// The tags of those tokens: names of weekdays and months are what they say; of the tokens that
// start with a digit, the first is the day, the last the year, and one between them the month.
Tokens date_tags(const Tokens& tokens);

// Token <-> id, with <pad> = 0, <bos> = 1, <eos> = 2, <unk> = 3 first.
class Vocab {
 public:
  static constexpr int64_t kPad = 0, kBos = 1, kEos = 2, kUnk = 3;
  Vocab() = default;
  explicit Vocab(const std::vector<Tokens>& sentences);
  int64_t id(const std::string& token) const;
  const std::string& token(int64_t id) const { return tokens_.at(static_cast<size_t>(id)); }
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  const std::vector<std::string>& tokens() const { return tokens_; }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> ids_;
};

}  // namespace zoo
