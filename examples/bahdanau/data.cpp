#include "examples/bahdanau/data.hpp"

#include <algorithm>
#include <sstream>
#include <unordered_map>

#include "engine/io/json_reader.hpp"
#include "examples/common/checks.hpp"

namespace bahdanau {

using namespace heed;

namespace {

// One UTF-8 character: its code point and byte length (an invalid byte is taken as itself).
std::pair<char32_t, size_t> decode_utf8(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = byte(i);
  const size_t length = b < 0x80           ? 1
                        : (b >> 5) == 0x6  ? 2
                        : (b >> 4) == 0xE  ? 3
                        : (b >> 3) == 0x1E ? 4
                                           : 1;
  if (length == 1 || i + length > s.size()) return {b, 1};
  char32_t c = b & (0xFF >> (length + 1));
  for (size_t k = 1; k < length; ++k) c = (c << 6) | (byte(i + k) & 0x3F);
  return {c, length};
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Lower case for the scripts of the shipped data: ASCII, Latin-1 (French), Latin Extended-A
// and the Vietnamese letters of Latin Extended-B and Extended Additional. Others stay as they are.
char32_t lower(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;  // À..Þ except ×
  if (c == 0x178) return 0xFF;                             // Ÿ
  const bool even_upper =
      (c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177) || (c >= 0x1E00 && c <= 0x1EFF);
  if (even_upper && c % 2 == 0 && c != 0x130) return c + 1;  // Ā ā, Œ œ, Ạ ạ ...
  const bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
  if (odd_upper && c % 2 == 1) return c + 1;   // Ĺ ĺ, Ź ź ...
  if (c == 0x1A0 || c == 0x1AF) return c + 1;  // Ơ ơ, Ư ư
  return c;
}

bool is_letter(char32_t c) {
  return (c >= 'a' && c <= 'z') || c >= 0xC0;
}

}  // namespace

std::string preprocess(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 8);
  char32_t previous = ' ';
  for (size_t i = 0; i < text.size();) {
    auto [c, length] = decode_utf8(text, i);
    i += length;
    if (c == 0x202F || c == 0xA0) c = ' ';
    c = lower(c);
    const bool punctuation = c == ',' || c == '.' || c == '!' || c == '?';
    if (punctuation && !out.empty() && previous != ' ') out += ' ';
    append_utf8(out, c);
    previous = c;
  }
  return out;
}

std::vector<std::string> tokenize(const std::string& sentence, Tokenizer tokenizer) {
  std::vector<std::string> tokens;
  if (tokenizer == Tokenizer::Words) {
    std::string word;
    for (char c : sentence) {
      if (c == ' ') {
        if (!word.empty()) tokens.push_back(std::move(word));
        word.clear();
      } else {
        word += c;
      }
    }
    if (!word.empty()) tokens.push_back(std::move(word));
    return tokens;
  }
  std::string word;  // a run of letters
  for (size_t i = 0; i < sentence.size();) {
    const auto [c, length] = decode_utf8(sentence, i);
    const std::string character = sentence.substr(i, length);
    i += length;
    if (is_letter(c)) {
      word += character;
      continue;
    }
    if (!word.empty()) tokens.push_back(std::move(word));
    word.clear();
    if (c != ' ') tokens.push_back(character);  // a digit or a mark
  }
  if (!word.empty()) tokens.push_back(std::move(word));
  return tokens;
}

std::string tokenizer_name(Tokenizer tokenizer) {
  return tokenizer == Tokenizer::Words ? "words" : "dates";
}

Tokenizer tokenizer_from_name(const std::string& name) {
  if (name == "words") return Tokenizer::Words;
  if (name == "dates") return Tokenizer::Dates;
  fail("unknown tokenizer {} (expected words or dates)", printable(name));
}

ReadResult read_pairs(const std::string& path, const ReadOptions& options) {
  std::istringstream file(examples::read_regular_file(path, "the sentence pairs file"));
  ReadResult result;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> columns;
    for (size_t start = 0;;) {
      const size_t tab = line.find('\t', start);
      columns.push_back(line.substr(start, tab == std::string::npos ? tab : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    std::string problem;
    try {
      examples::check_utf8(line, fmt::format("line {}", line_number));
      if (columns.size() != 2 && columns.size() != 3) {
        problem = fmt::format("line {}: expected 2 or 3 tab-separated columns, found {}",
                              line_number, columns.size());
      } else if (columns[0].empty() || columns[1].empty()) {
        problem = fmt::format("line {}: the source or the target is empty", line_number);
      }
    } catch (const Error& e) {
      problem = e.what();
    }
    if (!problem.empty()) {
      if (options.strict) fail("{}: {}", path, problem);
      if (result.skipped++ == 0) result.first_problem = problem;
      continue;
    }
    result.pairs.push_back({preprocess(columns[0]), preprocess(columns[1])});
    if (options.num_examples > 0 && int64_t(result.pairs.size()) == options.num_examples) break;
  }
  if (result.pairs.empty()) {
    fail("'{}' holds no sentence pairs (expected lines \"source<TAB>target\"{})", path,
         result.skipped > 0
             ? fmt::format("; {} malformed, the first at {}", result.skipped, result.first_problem)
             : "");
  }
  return result;
}

Vocab::Vocab(const std::vector<std::vector<std::string>>& sentences, int64_t min_freq) {
  if (min_freq < 1) fail("min_freq must be at least 1, got {}", min_freq);
  std::unordered_map<std::string, int64_t> counts;
  std::vector<std::string> first_seen;
  for (const auto& sentence : sentences) {
    for (const auto& token : sentence) {
      if (counts[token]++ == 0) first_seen.push_back(token);
    }
  }
  std::stable_sort(
      first_seen.begin(), first_seen.end(),
      [&](const std::string& a, const std::string& b) { return counts[a] > counts[b]; });
  tokens_ = {"<unk>", "<pad>", "<bos>", "<eos>"};
  for (const auto& token : first_seen) {
    const bool reserved =
        std::find(tokens_.begin(), tokens_.begin() + 4, token) != tokens_.begin() + 4;
    if (counts[token] >= min_freq && !reserved) tokens_.push_back(token);
  }
  index();
}

Vocab::Vocab(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {
  if (tokens_.size() < 4 || tokens_[unk] != "<unk>" || tokens_[pad] != "<pad>" ||
      tokens_[bos] != "<bos>" || tokens_[eos] != "<eos>") {
    fail("a vocabulary must start with <unk> <pad> <bos> <eos>; this one has {} tokens",
         tokens_.size());
  }
  index();
}

void Vocab::index() {
  sorted_ids_.clear();
  for (size_t i = 0; i < tokens_.size(); ++i) sorted_ids_.emplace_back(tokens_[i], int64_t(i));
  std::sort(sorted_ids_.begin(), sorted_ids_.end());
}

int64_t Vocab::id(const std::string& token) const {
  const auto it = std::lower_bound(sorted_ids_.begin(), sorted_ids_.end(),
                                   std::pair<std::string, int64_t>{token, -1});
  return it != sorted_ids_.end() && it->first == token ? it->second : unk;
}

std::vector<int64_t> Vocab::encode(const std::vector<std::string>& tokens) const {
  std::vector<int64_t> ids;
  ids.reserve(tokens.size());
  for (const auto& token : tokens) ids.push_back(id(token));
  return ids;
}

const std::string& Vocab::token(int64_t id) const {
  if (id < 0 || id >= size()) fail("token id {} is outside the vocabulary (size {})", id, size());
  return tokens_[size_t(id)];
}

Encoded encode_sentences(const std::vector<std::vector<std::string>>& sentences, const Vocab& vocab,
                         int64_t num_steps) {
  if (num_steps < 1) fail("num_steps must be at least 1, got {}", num_steps);
  const auto n = static_cast<int64_t>(sentences.size());
  std::vector<int64_t> tokens(size_t(n * num_steps), Vocab::pad), valid_lens;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> ids = vocab.encode(sentences[size_t(i)]);
    ids.push_back(Vocab::eos);
    const int64_t length = std::min<int64_t>(num_steps, int64_t(ids.size()));
    std::copy_n(ids.begin(), length, tokens.begin() + i * num_steps);
    valid_lens.push_back(length);
  }
  return {int_tensor(tokens, {n, num_steps}), int_tensor(valid_lens, {n})};
}

std::vector<int64_t> permutation(int64_t n, Generator& generator) {
  std::vector<int64_t> order(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(generator.next_u64() % uint64_t(i + 1));
    std::swap(order[size_t(i)], order[size_t(j)]);
  }
  return order;
}

TranslationData build_data(std::vector<SentencePair> pairs, Tokenizer tokenizer, int64_t num_steps,
                           int64_t min_freq, double val_fraction, uint64_t split_seed,
                           const Vocab* source_vocab, const Vocab* target_vocab) {
  if (!(val_fraction >= 0 && val_fraction < 1)) {
    fail("--val-fraction must be in [0, 1), got {}", val_fraction);
  }
  TranslationData data;
  data.tokenizer = tokenizer;
  data.num_steps = num_steps;
  const auto n = static_cast<int64_t>(pairs.size());
  const auto held_out = static_cast<int64_t>(double(n) * val_fraction);
  if (held_out > 0) {
    Generator split(split_seed);
    std::vector<int64_t> order = permutation(n, split);
    std::vector<bool> is_val(size_t(n), false);
    for (int64_t i = 0; i < held_out; ++i) is_val[size_t(order[size_t(i)])] = true;
    for (int64_t i = 0; i < n; ++i) {
      (is_val[size_t(i)] ? data.val_pairs : data.train_pairs)
          .push_back(std::move(pairs[size_t(i)]));
    }
  } else {
    data.train_pairs = std::move(pairs);
  }
  if (data.train_pairs.empty()) fail("no training pairs left after holding out {}", held_out);
  std::vector<std::vector<std::string>> sources, targets;
  for (const auto& pair : data.train_pairs) {
    sources.push_back(tokenize(pair.source, tokenizer));
    targets.push_back(tokenize(pair.target, tokenizer));
  }
  data.source_vocab = source_vocab ? *source_vocab : Vocab(sources, min_freq);
  data.target_vocab = target_vocab ? *target_vocab : Vocab(targets, min_freq);
  data.train_source = encode_sentences(sources, data.source_vocab, num_steps);
  data.train_target = encode_sentences(targets, data.target_vocab, num_steps);
  return data;
}

}  // namespace bahdanau
