// Generating the sequence tasks and their vocabularies.
#include "examples/attention_zoo/sequence_tasks.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string_view>

#include "engine/error.hpp"
#include "examples/bahdanau/dates.hpp"
#include "examples/common/checks.hpp"

namespace zoo {

namespace {

Tokens characters(const std::string& text) {
  Tokens out;
  for (char ch : text) out.emplace_back(1, ch);
  return out;
}

bool is_word_char(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) != 0;
}

const std::set<std::string> kMonthNames = {
    "january",   "february", "march",    "april",    "may", "june", "july", "august",
    "september", "october",  "november", "december", "jan", "feb",  "mar",  "apr",
    "jun",       "jul",      "aug",      "sep",      "oct", "nov",  "dec"};
const std::set<std::string> kWeekdayNames = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "mon",    "tue",     "wed",       "thu",      "fri",    "sat",      "sun"};

}  // namespace

Tokens date_tokens(const std::string& text) {
  Tokens tokens;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == ' ') {
      ++i;
    } else if (is_word_char(text[i])) {
      size_t end = i;
      while (end < text.size() && is_word_char(text[end])) ++end;
      tokens.push_back(text.substr(i, end - i));
      i = end;
    } else {
      tokens.emplace_back(1, text[i++]);
    }
  }
  return tokens;
}

Tokens date_tags(const Tokens& tokens) {
  Tokens tags(tokens.size(), "other");
  std::vector<size_t> numbers;  // the tokens that start with a digit, in order
  bool month_named = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (kMonthNames.count(tokens[i]) != 0) tags[i] = "month", month_named = true;
    if (kWeekdayNames.count(tokens[i]) != 0) tags[i] = "weekday";
    if (std::isdigit(static_cast<unsigned char>(tokens[i][0])) != 0) numbers.push_back(i);
  }
  // every format writes the day before the month and the year last
  if (!numbers.empty()) tags[numbers.front()] = "day";
  if (numbers.size() >= 2) tags[numbers.back()] = "year";
  if (numbers.size() == 3 && !month_named) tags[numbers[1]] = "month";
  return tags;
}

TaskData date_task(int64_t train, int64_t held_out, uint64_t seed) {
  std::vector<bahdanau::SentencePair> train_pairs, held_pairs;
  bahdanau::date_pairs(train, held_out, seed, train_pairs, held_pairs);
  TaskData data;
  for (const auto& pair : train_pairs)
    data.train.push_back({characters(pair.source), characters(pair.target)});
  for (const auto& pair : held_pairs)
    data.held_out.push_back({characters(pair.source), characters(pair.target)});
  return data;
}

TaskData ner_task(int64_t train, int64_t held_out, uint64_t seed) {
  std::vector<bahdanau::SentencePair> train_pairs, held_pairs;
  bahdanau::date_pairs(train, held_out, seed, train_pairs, held_pairs);
  TaskData data;
  for (const auto& pair : train_pairs) {
    const Tokens tokens = date_tokens(pair.source);
    data.train.push_back({tokens, date_tags(tokens)});
  }
  for (const auto& pair : held_pairs) {
    const Tokens tokens = date_tokens(pair.source);
    data.held_out.push_back({tokens, date_tags(tokens)});
  }
  return data;
}

std::string default_tatoeba_path() {
  return HEED_DEFAULT_TATOEBA;
}

TaskData summarize_task(const std::string& words_path, int64_t train, int64_t held_out,
                        uint64_t seed) {
  const std::string path = words_path.empty() ? default_tatoeba_path() : words_path;
  if (std::filesystem::is_regular_file(path) &&
      std::filesystem::file_size(path) > (size_t{256} << 20)) {
    heed::fail("summarize: --words {} is larger than 256 MiB; Tatoeba's fra.txt is 12 MiB", path);
  }
  const std::string text = examples::read_regular_file(path, "--words");
  // English sentences: the first column, lower-cased, punctuation dropped, 5 to 12 words.
  std::vector<Tokens> sentences;
  std::map<std::string, int64_t> counts;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    // the English column ends at the line's tab, if it has one
    const std::string_view whole(text.data() + start, end - start);
    const std::string line(whole.substr(0, whole.find('\t')));
    start = end + 1;
    Tokens words;
    std::string word;
    for (char ch : line + " ") {
      if (std::isalpha(static_cast<unsigned char>(ch)) != 0 || ch == '\'') {
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      } else if (!word.empty()) {
        words.push_back(word);
        word.clear();
      }
    }
    if (words.size() < 5 || words.size() > 12) continue;
    for (const std::string& w : words) ++counts[w];
    sentences.push_back(std::move(words));
  }
  // Only sentences of words seen at least 20 times (the vocabulary stays a few thousand words),
  // each once: Tatoeba repeats an English sentence for each of its translations, and a held-out
  // sentence must never be trained on.
  std::sort(sentences.begin(), sentences.end());
  sentences.erase(std::unique(sentences.begin(), sentences.end()), sentences.end());
  std::vector<Tokens> usable;
  for (Tokens& words : sentences) {
    if (std::all_of(words.begin(), words.end(), [&](const auto& w) { return counts[w] >= 20; }))
      usable.push_back(std::move(words));
  }
  if (usable.size() < 100) {
    heed::fail(
        "summarize: '{}' gave {} usable English sentences (5 to 12 common words); expected "
        "Tatoeba's tab-separated pairs, English first",
        path, usable.size());
  }
  std::mt19937_64 random(seed);
  std::shuffle(usable.begin(), usable.end(), random);
  // held-out sentences are never trained on
  const size_t held_sentences = std::max<size_t>(1, usable.size() / 10);
  const auto make = [&](size_t first, size_t count, int64_t examples) {
    std::vector<Example> out;
    for (int64_t i = 0; i < examples; ++i) {
      const Tokens& words = usable[first + random() % count];
      const size_t marked = 2 + random() % 2;
      std::vector<size_t> positions(words.size());
      std::iota(positions.begin(), positions.end(), 0);
      std::shuffle(positions.begin(), positions.end(), random);
      positions.resize(std::min(marked, words.size()));
      std::sort(positions.begin(), positions.end());
      Example example;
      for (size_t p = 0, next = 0; p < words.size(); ++p) {
        if (next < positions.size() && positions[next] == p) {
          example.source.push_back("*");
          example.target.push_back(words[p]);
          ++next;
        }
        example.source.push_back(words[p]);
      }
      out.push_back(std::move(example));
    }
    return out;
  };
  TaskData data;
  data.held_out = make(0, held_sentences, held_out);
  data.train = make(held_sentences, usable.size() - held_sentences, train);
  return data;
}

Vocab::Vocab(const std::vector<Tokens>& sentences) {
  for (const char* special : {"<pad>", "<bos>", "<eos>", "<unk>"}) {
    ids_[special] = size();
    tokens_.push_back(special);
  }
  std::set<std::string> seen;
  for (const Tokens& sentence : sentences) seen.insert(sentence.begin(), sentence.end());
  for (const std::string& token : seen) {
    if (ids_.count(token) != 0) continue;
    ids_[token] = size();
    tokens_.push_back(token);
  }
}

int64_t Vocab::id(const std::string& token) const {
  const auto found = ids_.find(token);
  return found == ids_.end() ? kUnk : found->second;
}

}  // namespace zoo
