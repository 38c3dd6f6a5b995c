// GPT-2's byte-level BPE: the tables it reads (vocab, merge ranks, added tokens), the
// byte-to-unicode table, the merge loop with its cache, and decoding.
#include "examples/gpt/byte_level_bpe.hpp"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>

#include "engine/error.hpp"
#include "engine/io/json_reader.hpp"
#include "examples/common/checks.hpp"
#include "examples/gpt/gpt2_words.hpp"
#include "examples/gpt/utf8_replace.hpp"

namespace gpt {

using heed::fail;
using heed::printable;

namespace {

// Large enough for every released BPE vocabulary (GPT-2's has 50,257 entries), small enough
// that a hostile file cannot make the tables huge.
constexpr int64_t kMaxVocab = int64_t{1} << 21;
constexpr size_t kMaxTokenBytes = 4096;
constexpr size_t kCacheLimit = size_t{1} << 18;  // words kept in the cache before it is cleared

// The UTF-8 encoding of one code point (below U+0800 here: the table's characters).
std::string utf8_of(uint32_t code_point) {
  std::string out;
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
  return out;
}

// GPT-2's byte-to-unicode table: printable bytes (! to ~, ¡ to ¬, ® to ÿ) stand for themselves;
// the 68 others (controls, space, DEL, NBSP, soft hyphen) become U+0100, U+0101, ... in byte
// order. So every byte is a visible character, and a space is "Ġ" (U+0120).
std::vector<uint32_t> byte_to_code_point() {
  std::vector<uint32_t> table(256);
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable_byte =
        (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = printable_byte ? b : next++;
  }
  return table;
}

// Reads one code point of valid UTF-8 at text[i], advancing i.
uint32_t next_code_point(std::string_view text, size_t& i) {
  const auto b = static_cast<unsigned char>(text[i]);
  const int length = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  uint32_t value = length == 1 ? b : b & (0x7F >> length);
  for (int k = 1; k < length && i + k < text.size(); ++k) {
    value = (value << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  }
  i += static_cast<size_t>(length);
  return value;
}

std::string merge_key(const std::string& first, const std::string& second) {
  return first + " " + second;  // symbols never hold a space: the table turned it into "Ġ"
}

}  // namespace

struct ByteLevelBPE::Tables {
  std::unordered_map<std::string, int64_t> vocab;       // symbol -> id
  std::vector<std::string> symbol_of;                   // id -> symbol ("" where no entry)
  std::unordered_map<std::string, int64_t> ranks;       // "first second" -> merge rank
  std::vector<std::string> merges;                      // "first second", best rank first
  std::vector<std::pair<std::string, int64_t>> added;   // content -> id, longest first
  std::vector<std::string> byte_symbol;                 // byte -> its one-character symbol
  std::unordered_map<uint32_t, unsigned char> byte_of;  // code point -> byte
  Gpt2Words words;
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache;  // word -> ids
};

ByteLevelBPE::ByteLevelBPE(const std::string& vocab_json, const std::string& merges_txt,
                           std::vector<std::pair<std::string, int64_t>> added_tokens,
                           const std::string& where)
    : tables_(std::make_unique<Tables>()) {
  Tables& t = *tables_;
  const std::vector<uint32_t> table = byte_to_code_point();
  for (int b = 0; b < 256; ++b) {
    t.byte_symbol.push_back(utf8_of(table[static_cast<size_t>(b)]));
    t.byte_of[table[static_cast<size_t>(b)]] = static_cast<unsigned char>(b);
  }

  // vocab.json: {"symbol": id, ...}
  const std::string vocab_where = where + " vocab.json";
  const nlohmann::json vocab = heed::parse_untrusted_json(vocab_json, vocab_where);
  if (!vocab.is_object()) {
    fail("{}: expected an object of token -> id, found {}", vocab_where,
         heed::describe_json(vocab));
  }
  if (static_cast<int64_t>(vocab.size()) > kMaxVocab) {
    fail("{}: {} entries, more than the {} heed accepts", vocab_where, vocab.size(), kMaxVocab);
  }
  for (const auto& [symbol, id_value] : vocab.items()) {
    if (!id_value.is_number_integer()) {
      fail("{}: the id of {} must be an integer, found {}", vocab_where, printable(symbol),
           heed::describe_json(id_value));
    }
    const auto id = id_value.get<int64_t>();
    if (id < 0 || id >= kMaxVocab) {
      fail("{}: the id {} of {} is outside [0, {})", vocab_where, id, printable(symbol), kMaxVocab);
    }
    if (symbol.empty() || symbol.size() > kMaxTokenBytes) {
      fail("{}: a token of {} bytes (expected 1 to {})", vocab_where, symbol.size(),
           kMaxTokenBytes);
    }
    if (static_cast<size_t>(id) >= t.symbol_of.size()) t.symbol_of.resize(size_t(id) + 1);
    if (!t.symbol_of[size_t(id)].empty()) {
      fail("{}: the id {} is given to both {} and {}", vocab_where, id,
           printable(t.symbol_of[size_t(id)]), printable(symbol));
    }
    t.symbol_of[size_t(id)] = symbol;
    t.vocab[symbol] = id;
  }
  for (int b = 0; b < 256; ++b) {
    if (t.vocab.count(t.byte_symbol[size_t(b)]) == 0) {
      fail("{}: the byte {:#04x} (symbol {}) has no entry: a byte-level vocabulary holds all 256",
           vocab_where, b, t.byte_symbol[size_t(b)]);
    }
  }

  // merges.txt: "#version: ..." then one "first second" per line, best rank first.
  const std::string merges_where = where + " merges.txt";
  size_t line_start = 0;
  int64_t line_number = 0;
  while (line_start < merges_txt.size()) {
    size_t line_end = merges_txt.find('\n', line_start);
    if (line_end == std::string::npos) line_end = merges_txt.size();
    std::string line = merges_txt.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_number == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string::npos) {
      fail("{} line {}: expected two tokens separated by one space, found {}", merges_where,
           line_number, printable(line));
    }
    const std::string first = line.substr(0, space), second = line.substr(space + 1);
    for (const std::string* symbol : {&first, &second}) {
      if (t.vocab.count(*symbol) == 0) {
        fail("{} line {}: {} is not in vocab.json", merges_where, line_number, printable(*symbol));
      }
    }
    if (t.vocab.count(first + second) == 0) {
      fail("{} line {}: the merged token {} is not in vocab.json", merges_where, line_number,
           printable(first + second));
    }
    if (static_cast<int64_t>(t.ranks.size()) >= kMaxVocab) {
      fail("{}: more than {} merges", merges_where, kMaxVocab);
    }
    if (t.ranks.emplace(merge_key(first, second), static_cast<int64_t>(t.ranks.size())).second) {
      t.merges.push_back(merge_key(first, second));
    }
  }

  // Added tokens: matched before anything else, longest first where two start at one place.
  for (auto& [content, id] : added_tokens) {
    if (content.empty() || content.size() > kMaxTokenBytes) {
      fail("{}: an added token of {} bytes (expected 1 to {})", where, content.size(),
           kMaxTokenBytes);
    }
    if (id < 0 || id >= kMaxVocab) {
      fail("{}: the added token {} has the id {}, outside [0, {})", where, printable(content), id,
           kMaxVocab);
    }
    if (static_cast<size_t>(id) < t.symbol_of.size() && !t.symbol_of[size_t(id)].empty() &&
        t.symbol_of[size_t(id)] != content) {
      fail("{}: the added token {} has the id {}, which vocab.json gives to {}", where,
           printable(content), id, printable(t.symbol_of[size_t(id)]));
    }
    t.added.emplace_back(content, id);
  }
  std::sort(t.added.begin(), t.added.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

ByteLevelBPE::~ByteLevelBPE() = default;
ByteLevelBPE::ByteLevelBPE(ByteLevelBPE&&) noexcept = default;
ByteLevelBPE& ByteLevelBPE::operator=(ByteLevelBPE&&) noexcept = default;

void ByteLevelBPE::encode_word(std::string_view word, std::vector<int64_t>& ids) const {
  const Tables& t = *tables_;
  {
    const std::lock_guard<std::mutex> lock(t.cache_mutex);
    const auto cached = t.cache.find(std::string(word));
    if (cached != t.cache.end()) {
      ids.insert(ids.end(), cached->second.begin(), cached->second.end());
      return;
    }
  }
  // One symbol per byte, then merge the best-ranked adjacent pair, every occurrence of it left
  // to right, until no adjacent pair is in merges.txt.
  std::vector<std::string> symbols;
  for (const char byte : word) symbols.push_back(t.byte_symbol[static_cast<unsigned char>(byte)]);
  while (symbols.size() > 1) {
    int64_t best_rank = std::numeric_limits<int64_t>::max();
    size_t best = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const auto rank = t.ranks.find(merge_key(symbols[i], symbols[i + 1]));
      if (rank != t.ranks.end() && rank->second < best_rank) best_rank = rank->second, best = i;
    }
    if (best_rank == std::numeric_limits<int64_t>::max()) break;
    const std::string first = symbols[best], second = symbols[best + 1];
    std::vector<std::string> merged;
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && symbols[i] == first && symbols[i + 1] == second) {
        merged.push_back(first + second);
        ++i;
      } else {
        merged.push_back(symbols[i]);
      }
    }
    symbols = std::move(merged);
  }
  std::vector<int64_t> word_ids;
  for (const std::string& symbol : symbols) word_ids.push_back(t.vocab.at(symbol));
  ids.insert(ids.end(), word_ids.begin(), word_ids.end());
  const std::lock_guard<std::mutex> lock(t.cache_mutex);
  if (t.cache.size() >= kCacheLimit) t.cache.clear();
  t.cache.emplace(std::string(word), std::move(word_ids));
}

std::vector<int64_t> ByteLevelBPE::encode(std::string_view raw) const {
  const Tables& t = *tables_;
  const std::string text = replace_invalid_utf8(raw);
  std::vector<int64_t> ids;
  auto encode_plain = [&](std::string_view piece) {
    for (const std::string_view word : t.words.split(piece)) encode_word(word, ids);
  };
  size_t at = 0;
  while (at < text.size()) {
    // The nearest added token from here (the longest of those starting at the same place).
    size_t nearest = std::string::npos;
    const std::pair<std::string, int64_t>* token = nullptr;
    for (const auto& candidate : t.added) {
      const size_t found = text.find(candidate.first, at);
      if (found != std::string::npos && (nearest == std::string::npos || found < nearest)) {
        nearest = found, token = &candidate;
      }
    }
    if (token == nullptr) break;
    encode_plain(std::string_view(text).substr(at, nearest - at));
    ids.push_back(token->second);
    at = nearest + token->first.size();
  }
  if (at < text.size()) encode_plain(std::string_view(text).substr(at));
  return ids;
}

std::string ByteLevelBPE::decode(const std::vector<int64_t>& ids) const {
  const Tables& t = *tables_;
  std::string bytes;
  for (const int64_t id : ids) {
    const std::string* symbol = nullptr;
    for (const auto& [content, added_id] : t.added) {
      if (added_id == id) symbol = &content;
    }
    if (symbol == nullptr && id >= 0 && static_cast<size_t>(id) < t.symbol_of.size() &&
        !t.symbol_of[size_t(id)].empty()) {
      symbol = &t.symbol_of[size_t(id)];
    }
    if (symbol == nullptr) {
      fail("decode: the id {} is not in the vocabulary ({} ids)", id, vocab_size());
    }
    // Each character of a token stands for one byte; one outside the table (in an added
    // token) stands for its own UTF-8 bytes.
    for (size_t i = 0; i < symbol->size();) {
      const size_t start = i;
      const uint32_t code_point = next_code_point(*symbol, i);
      const auto byte = t.byte_of.find(code_point);
      if (byte != t.byte_of.end()) {
        bytes += static_cast<char>(byte->second);
      } else {
        bytes.append(*symbol, start, i - start);
      }
    }
  }
  return replace_invalid_utf8(bytes);
}

int64_t ByteLevelBPE::vocab_size() const {
  int64_t size = static_cast<int64_t>(tables_->symbol_of.size());
  for (const auto& [content, id] : tables_->added) size = std::max(size, id + 1);
  return size;
}

void ByteLevelBPE::check_fits(int64_t model_vocab_size, const std::string& where) const {
  if (vocab_size() > model_vocab_size) {
    fail("{}: the tokenizer has {} ids but the model's vocabulary is {}", where, vocab_size(),
         model_vocab_size);
  }
}

int64_t ByteLevelBPE::added_token_id(const std::string& content) const {
  for (const auto& [token, id] : tables_->added) {
    if (token == content) return id;
  }
  return -1;
}

std::string ByteLevelBPE::vocab_json() const {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  const std::vector<std::string>& symbols = tables_->symbol_of;
  for (const std::string& symbol : symbols) {
    if (!symbol.empty()) vocab[symbol] = tables_->vocab.at(symbol);
  }
  return vocab.dump();
}

std::string ByteLevelBPE::merges_txt() const {
  std::string text = "#version: 0.2\n";
  for (const std::string& merge : tables_->merges) text += merge + "\n";
  return text;
}

std::vector<std::pair<std::string, int64_t>> ByteLevelBPE::added_tokens() const {
  std::vector<std::pair<std::string, int64_t>> tokens = tables_->added;
  std::sort(tokens.begin(), tokens.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  return tokens;
}

namespace {

// The added tokens of tokenizer.json, or else of tokenizer_config.json's added_tokens_decoder.
std::vector<std::pair<std::string, int64_t>> added_tokens_in(const nlohmann::json& list,
                                                             const std::string& where) {
  std::vector<std::pair<std::string, int64_t>> added;
  for (const nlohmann::json& entry : list) {
    if (!entry.is_object()) {
      fail("{}: an added token must be an object, found {}", where, heed::describe_json(entry));
    }
    const std::string content = heed::json_string(entry, "content", where);
    for (const char* flag : {"lstrip", "rstrip", "single_word"}) {
      if (entry.contains(flag) && entry[flag].is_boolean() && entry[flag].get<bool>()) {
        fail("{}: the added token {} sets {}, which heed's GPT-2 tokenizer does not support", where,
             printable(content), flag);
      }
    }
    added.emplace_back(content, heed::json_integer(entry, "id", where));
  }
  return added;
}

void check_gpt2_pipeline(const nlohmann::json& tokenizer, const std::string& where) {
  auto refuse = [&](const std::string& what) {
    fail("{}: {}; heed reads GPT-2's byte-level BPE only", where, what);
  };
  if (tokenizer.contains("normalizer") && !tokenizer["normalizer"].is_null()) {
    refuse("it has a normalizer");
  }
  const nlohmann::json& pre = tokenizer.value("pre_tokenizer", nlohmann::json());
  if (!pre.is_object() || pre.value("type", "") != "ByteLevel") {
    refuse("its pre_tokenizer is not ByteLevel");
  }
  if (pre.value("add_prefix_space", false)) refuse("its pre_tokenizer sets add_prefix_space");
  if (!pre.value("use_regex", true)) refuse("its pre_tokenizer does not use GPT-2's pattern");
  const nlohmann::json& model = tokenizer.value("model", nlohmann::json());
  if (!model.is_object() || model.value("type", "") != "BPE") refuse("its model is not BPE");
  if (model.value("byte_fallback", false)) refuse("its model sets byte_fallback");
  for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(affix) && model[affix].is_string() &&
        !model[affix].get<std::string>().empty()) {
      refuse(std::string("its model sets ") + affix);
    }
  }
}

}  // namespace

std::string ByteLevelBPE::to_json() const {
  nlohmann::ordered_json out;
  out["vocab"] = nlohmann::ordered_json::parse(vocab_json());
  out["merges"] = tables_->merges;
  out["added_tokens"] = nlohmann::ordered_json::array();
  for (const auto& [content, id] : added_tokens()) {
    out["added_tokens"].push_back({{"content", content}, {"id", id}});
  }
  return out.dump();
}

ByteLevelBPE ByteLevelBPE::from_json(const std::string& text, const std::string& where) {
  const nlohmann::json tables = heed::parse_untrusted_json(text, where);
  if (!tables.is_object() || !tables.contains("vocab") || !tables.contains("merges") ||
      !tables["merges"].is_array() || !tables.contains("added_tokens") ||
      !tables["added_tokens"].is_array()) {
    fail("{}: expected an object with vocab, merges (a list) and added_tokens (a list)", where);
  }
  std::string merges_txt;
  for (const nlohmann::json& merge : tables["merges"]) {
    if (!merge.is_string() || merge.get<std::string>().find_first_of("\r\n") != std::string::npos) {
      fail("{}: a merge must be \"first second\" on one line, found {}", where,
           heed::describe_json(merge));
    }
    merges_txt += merge.get<std::string>() + "\n";
  }
  return ByteLevelBPE(tables["vocab"].dump(), merges_txt,
                      added_tokens_in(tables["added_tokens"], where), where);
}

ByteLevelBPE ByteLevelBPE::from_folder(const std::string& folder) {
  namespace fs = std::filesystem;
  const fs::path dir(folder);
  auto read = [&](const char* name) {
    return examples::read_regular_file((dir / name).string(), name);
  };
  std::string vocab_json, merges_txt;
  std::vector<std::pair<std::string, int64_t>> added;
  const bool has_tokenizer_json = fs::exists(dir / "tokenizer.json");
  if (has_tokenizer_json) {
    const std::string where = (dir / "tokenizer.json").string();
    const nlohmann::json tokenizer = heed::parse_untrusted_json(read("tokenizer.json"), where);
    if (!tokenizer.is_object()) fail("{}: expected a JSON object", where);
    check_gpt2_pipeline(tokenizer, where);
    if (tokenizer.contains("added_tokens")) {
      if (!tokenizer["added_tokens"].is_array()) fail("{}: added_tokens must be a list", where);
      added = added_tokens_in(tokenizer["added_tokens"], where);
    }
    if (!fs::exists(dir / "vocab.json") || !fs::exists(dir / "merges.txt")) {
      // The model inside tokenizer.json: vocab as an object, merges as "a b" or ["a", "b"].
      const nlohmann::json& model = tokenizer["model"];
      if (!model.contains("vocab") || !model.contains("merges") || !model["merges"].is_array()) {
        fail("{}: the model has no vocab and merges, and {} has no vocab.json and merges.txt",
             where, folder);
      }
      vocab_json = model["vocab"].dump();
      for (const nlohmann::json& merge : model["merges"]) {
        if (merge.is_string()) {
          merges_txt += merge.get<std::string>() + "\n";
        } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
                   merge[1].is_string()) {
          merges_txt += merge[0].get<std::string>() + " " + merge[1].get<std::string>() + "\n";
        } else {
          fail("{}: a merge must be \"a b\" or [\"a\", \"b\"], found {}", where,
               heed::describe_json(merge));
        }
      }
      return ByteLevelBPE(vocab_json, merges_txt, added, where);
    }
  } else if (fs::exists(dir / "tokenizer_config.json")) {
    const std::string where = (dir / "tokenizer_config.json").string();
    const nlohmann::json config = heed::parse_untrusted_json(read("tokenizer_config.json"), where);
    if (config.is_object() && config.contains("added_tokens_decoder")) {
      const nlohmann::json& decoder = config["added_tokens_decoder"];
      if (!decoder.is_object()) fail("{}: added_tokens_decoder must be an object", where);
      nlohmann::json list = nlohmann::json::array();
      for (const auto& [id_text, entry] : decoder.items()) {
        int64_t id = -1;
        try {
          size_t used = 0;
          id = std::stoll(id_text, &used);
          if (used != id_text.size()) id = -1;
        } catch (const std::exception&) {
          id = -1;
        }
        if (id < 0)
          fail("{}: added_tokens_decoder has the key {}, not an id", where, printable(id_text));
        nlohmann::json token = entry;
        if (token.is_object()) token["id"] = id;
        list.push_back(token);
      }
      added = added_tokens_in(list, where);
    }
  }
  if (!fs::exists(dir / "vocab.json") || !fs::exists(dir / "merges.txt")) {
    fail("{}: no tokenizer here: expected vocab.json and merges.txt, or tokenizer.json", folder);
  }
  return ByteLevelBPE(read("vocab.json"), read("merges.txt"), added, folder);
}

}  // namespace gpt
