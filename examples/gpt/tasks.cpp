#include "examples/gpt/tasks.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>

#include "engine/io/json_reader.hpp"
#include "examples/common/checks.hpp"

namespace gpt {

using namespace heed;

namespace {

constexpr int64_t kNotScored = -100;  // cross-entropy's ignore_index

// Lays out sequences (each length block + 1) as inputs = s[:-1], targets = s[1:], with the
// first `unscored` targets not counted.
Batch make_batch(const std::vector<std::vector<int64_t>>& sequences, int64_t unscored) {
  const int64_t count = static_cast<int64_t>(sequences.size());
  const int64_t steps = static_cast<int64_t>(sequences[0].size()) - 1;
  std::vector<int64_t> inputs, targets;
  for (const auto& s : sequences) {
    for (int64_t t = 0; t < steps; ++t) {
      inputs.push_back(s[static_cast<size_t>(t)]);
      targets.push_back(t < unscored ? kNotScored : s[static_cast<size_t>(t + 1)]);
    }
  }
  return {int_tensor(inputs, {count, steps}), int_tensor(targets, {count, steps})};
}

std::vector<std::string> digit_symbols(int64_t count) {
  std::vector<std::string> symbols;
  for (int64_t d = 0; d < count; ++d) symbols.push_back(std::to_string(d));
  return symbols;
}

}  // namespace

std::vector<std::string> utf8_characters(const std::string& text, const std::string& where) {
  examples::check_utf8(text, where);
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {  // valid UTF-8: the lead byte gives the length
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    out.push_back(text.substr(i, length));
    i += length;
  }
  return out;
}

Vocabulary Vocabulary::from_json(const std::string& text, const std::string& where) {
  const nlohmann::json list = heed::parse_untrusted_json(text, where + ": the vocabulary");
  if (!list.is_array() || list.empty()) {
    fail("{}: the vocabulary must be a non-empty list of characters, got {}", where,
         heed::describe_json(list));
  }
  std::vector<std::string> symbols;
  std::set<std::string> seen;
  for (const nlohmann::json& entry : list) {
    if (!entry.is_string()) {
      fail("{}: vocabulary entry {} is {}, expected a string", where, symbols.size(),
           heed::describe_json(entry));
    }
    const std::string& symbol = entry.get_ref<const std::string&>();
    const std::string place = fmt::format("{}: vocabulary entry {}", where, symbols.size());
    if (utf8_characters(symbol, place).size() != 1) {
      fail("{} is {}, expected one character", place, heed::printable(symbol));
    }
    if (!seen.insert(symbol).second) fail("{} repeats {}", place, heed::printable(symbol));
    symbols.push_back(symbol);
  }
  return Vocabulary(std::move(symbols));
}

Vocabulary::Vocabulary(std::vector<std::string> symbols) : symbols_(std::move(symbols)) {}

Vocabulary Vocabulary::from_text(const std::string& text) {
  const std::vector<std::string> characters = utf8_characters(text);
  const std::set<std::string> distinct(characters.begin(), characters.end());
  return Vocabulary({distinct.begin(), distinct.end()});
}

std::vector<int64_t> Vocabulary::encode(const std::string& text) const {
  std::map<std::string, int64_t> ids;
  for (size_t i = 0; i < symbols_.size(); ++i) ids[symbols_[i]] = static_cast<int64_t>(i);
  std::vector<int64_t> out;
  for (const std::string& c : utf8_characters(text)) {
    const auto found = ids.find(c);
    if (found == ids.end()) {
      fail(
          "the character {} (position {} of the text) is not in the model's vocabulary of {} "
          "characters",
          heed::printable(c), out.size(), symbols_.size());
    }
    out.push_back(found->second);
  }
  return out;
}

std::string Vocabulary::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    if (id < 0 || id >= size()) fail("token id {} is outside the vocabulary of {}", id, size());
    out += symbols_[static_cast<size_t>(id)];
  }
  return out;
}

// ---- addition ----

AdditionTask::AdditionTask(int64_t digits, uint64_t seed)
    : digits_(digits), vocabulary_(digit_symbols(10)) {
  if (digits < 1 || digits > 6) fail("addition: --digits must be in [1, 6], got {}", digits);
  int64_t limit = 1;
  for (int64_t d = 0; d < digits; ++d) limit *= 10;
  std::vector<std::pair<int64_t, int64_t>> pairs;
  if (limit * limit <= 2'000'000) {
    for (int64_t a = 0; a < limit; ++a) {
      for (int64_t b = 0; b < limit; ++b) pairs.emplace_back(a, b);
    }
  } else {
    std::mt19937_64 random(seed);
    for (int i = 0; i < 2'000'000; ++i) pairs.emplace_back(random() % limit, random() % limit);
  }
  std::mt19937_64 shuffle(seed);
  std::shuffle(pairs.begin(), pairs.end(), shuffle);
  // As minGPT: hold out 20% of the pairs, at most 500.
  const size_t held = std::min<size_t>(500, pairs.size() / 5);
  held_out_.assign(pairs.begin(), pairs.begin() + static_cast<int64_t>(held));
  train_.assign(pairs.begin() + static_cast<int64_t>(held), pairs.end());
}

std::vector<int64_t> AdditionTask::sequence(int64_t a, int64_t b) const {
  std::vector<int64_t> s;
  auto digits_of = [](int64_t value, int64_t count) {  // most significant first
    std::vector<int64_t> d(static_cast<size_t>(count));
    for (int64_t i = count - 1; i >= 0; --i, value /= 10) d[static_cast<size_t>(i)] = value % 10;
    return d;
  };
  for (int64_t d : digits_of(a, digits_)) s.push_back(d);
  for (int64_t d : digits_of(b, digits_)) s.push_back(d);
  std::vector<int64_t> sum = digits_of(a + b, digits_ + 1);
  s.insert(s.end(), sum.rbegin(), sum.rend());  // reversed: lowest digit first, as carries flow
  return s;
}

Batch AdditionTask::batch(int64_t batch_size, bool validation, Generator& generator) const {
  const auto& pool = validation ? held_out_ : train_;
  std::vector<std::vector<int64_t>> sequences;
  for (int64_t i = 0; i < batch_size; ++i) {
    const auto& [a, b] = pool[generator.next_u64() % pool.size()];
    sequences.push_back(sequence(a, b));
  }
  return make_batch(sequences, 2 * digits_ - 1);  // only the sum's digits are scored
}

// ---- sort ----

SortTask::SortTask(int64_t length, int64_t values)
    : length_(length), values_(values), vocabulary_(digit_symbols(values)) {
  if (length < 2 || values < 2 || values > 10) {
    fail("sort: expected a length >= 2 and 2..10 values, got {} and {}", length, values);
  }
}

Batch SortTask::batch(int64_t batch_size, bool validation, Generator& generator) const {
  std::vector<std::vector<int64_t>> sequences;
  while (static_cast<int64_t>(sequences.size()) < batch_size) {
    std::vector<int64_t> list(static_cast<size_t>(length_));
    for (int64_t& v : list) v = static_cast<int64_t>(generator.next_u64() % uint64_t(values_));
    // Lists whose hash is 0 mod 4 are the held-out set, as minGPT splits by hash.
    uint64_t hash = 1469598103934665603ULL;
    for (int64_t v : list) hash = (hash ^ uint64_t(v)) * 1099511628211ULL;
    if (((hash % 4) == 0) != validation) continue;
    std::vector<int64_t> sorted = list;
    std::sort(sorted.begin(), sorted.end());
    list.insert(list.end(), sorted.begin(), sorted.end());
    sequences.push_back(list);
  }
  return make_batch(sequences, length_ - 1);
}

// ---- text ----

TextTask::TextTask(const std::string& path, int64_t block_size, const Vocabulary* vocabulary)
    : block_size_(block_size), characters_(true) {
  const std::string text = examples::read_regular_file(path, "the data file");
  if (text.empty()) fail("the data file {} is empty", path);
  examples::check_utf8(text, "the data file " + path);
  vocabulary_ = vocabulary ? *vocabulary : Vocabulary::from_text(text);
  vocab_size_ = vocabulary_.size();
  split(vocabulary_.encode(text), path, "characters");
}

TextTask::TextTask(const std::string& path, int64_t block_size, const ByteLevelBPE& tokenizer,
                   int64_t vocab_size)
    : block_size_(block_size), characters_(false), vocab_size_(vocab_size) {
  const std::string text = examples::read_regular_file(path, "the data file");
  if (text.empty()) fail("the data file {} is empty", path);
  examples::check_utf8(text, "the data file " + path);
  tokenizer.check_fits(vocab_size, "the data file " + path);
  split(tokenizer.encode(text), path, "tokens");
}

void TextTask::split(const std::vector<int64_t>& ids, const std::string& path, const char* unit) {
  const size_t split = ids.size() * 9 / 10;
  train_.assign(ids.begin(), ids.begin() + static_cast<int64_t>(split));
  validation_.assign(ids.begin() + static_cast<int64_t>(split), ids.end());
  if (static_cast<int64_t>(validation_.size()) <= block_size_ + 1) {
    fail(
        "the data file {} is too short: {} {}, need more than {} for the validation split with "
        "block size {}",
        path, ids.size(), unit, (block_size_ + 2) * 10, block_size_);
  }
}

heed::Tensor TextTask::ids() const {
  std::vector<int64_t> all = train_;
  all.insert(all.end(), validation_.begin(), validation_.end());
  return heed::from_vector(all);  // (tokens,)
}

Batch TextTask::batch(int64_t batch_size, bool validation, Generator& generator) const {
  const auto& ids = validation ? validation_ : train_;
  std::vector<std::vector<int64_t>> sequences;
  const uint64_t starts = ids.size() - static_cast<size_t>(block_size_) - 1;
  for (int64_t i = 0; i < batch_size; ++i) {
    const auto start = static_cast<int64_t>(generator.next_u64() % starts);
    sequences.emplace_back(ids.begin() + start, ids.begin() + start + block_size_ + 1);
  }
  return make_batch(sequences, 0);
}

}  // namespace gpt
