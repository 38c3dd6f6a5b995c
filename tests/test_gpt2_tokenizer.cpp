// GPT-2's byte-level BPE (examples/gpt/byte_level_bpe) against transformers' GPT2TokenizerFast,
// through the committed fixture tests/data/gpt2_tiny (a byte-level BPE trained on Tiny
// Shakespeare by tests/generate_gpt2_tokenizer.py, with transformers' ids for edge cases and a
// hash per 256 lines of every text file in the shared data), and on hostile tokenizer files.
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/io/json_reader.hpp"
#include "examples/gpt/byte_level_bpe.hpp"
#include "examples/gpt/utf8_replace.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kFixture = fs::path(HEED_TEST_DATA_DIR) / "gpt2_tiny";

std::string bytes_of(const nlohmann::json& list) {
  std::string out;
  for (const auto& b : list) out += static_cast<char>(b.get<int>());
  return out;
}

// FNV-1a, 64 bits: the generator's hash of a block's ids.
uint64_t fnv1a(std::string_view data) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : data) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

}  // namespace

TEST_CASE("gpt2 tokenizer: edge cases give transformers' ids, and decode as it decodes") {
  const gpt::ByteLevelBPE tokenizer = gpt::ByteLevelBPE::from_folder(kFixture.string());
  CHECK(tokenizer.vocab_size() == 1024);
  CHECK(tokenizer.added_token_id("<|endoftext|>") == 0);
  const nlohmann::json fixture =
      nlohmann::json::parse(read_bytes(kFixture / "tokenizer_cases.json"));
  int cases = 0;
  for (const nlohmann::json& entry : fixture["cases"]) {
    const std::string text = bytes_of(entry["bytes"]);
    INFO("text: " << printable(text, 80));
    const std::vector<int64_t> ids = tokenizer.encode(text);
    CHECK(ids == entry["ids"].get<std::vector<int64_t>>());
    CHECK(tokenizer.decode(entry["ids"].get<std::vector<int64_t>>()) == bytes_of(entry["decoded"]));
    ++cases;
  }
  CHECK(cases >= 30);
  for (const nlohmann::json& entry : fixture["decode_only"]) {
    CHECK(tokenizer.decode(entry["ids"].get<std::vector<int64_t>>()) == bytes_of(entry["decoded"]));
  }
}

TEST_CASE("gpt2 tokenizer: every line of every shared data file gives transformers' ids") {
  const fs::path shared = HEED_SHARED_DATA_DIR;
  if (!shared_data_present(shared)) return;
  const gpt::ByteLevelBPE tokenizer = gpt::ByteLevelBPE::from_folder(kFixture.string());
  // "file \t first line \t lines \t hash" per block of 256 lines.
  std::map<std::string, std::vector<std::pair<size_t, std::string>>> expected;
  std::istringstream listing(read_bytes(kFixture / "tokenizer_corpus.txt"));
  for (std::string row; std::getline(listing, row);) {
    if (row.empty() || row[0] == '#') continue;
    std::istringstream fields(row);
    std::string file, hash;
    size_t first = 0, count = 0;
    std::getline(fields, file, '\t');
    fields >> first >> count >> hash;
    expected[file].emplace_back(count, hash);
  }
  // The fixture covers exactly the text files that are there now.
  std::set<std::string> present;
  for (const auto& entry : fs::recursive_directory_iterator(shared)) {
    if (entry.is_regular_file() && entry.path().extension() != ".gz" &&
        entry.path().filename() != "LICENSE") {
      present.insert(fs::relative(entry.path(), shared).string());
    }
  }
  std::set<std::string> listed;
  for (const auto& [file, blocks] : expected) listed.insert(file);
  REQUIRE_MESSAGE(present == listed,
                  "the shared data changed: run tests/generate_gpt2_tokenizer.py");

  size_t lines_checked = 0;
  for (const auto& listed_file : expected) {
    const std::string& file = listed_file.first;  // named: clang 14 cannot capture a binding
    const auto& blocks = listed_file.second;
    const std::string bytes = read_bytes(shared / file);
    std::vector<std::string_view> lines;
    for (size_t start = 0; start < bytes.size();) {
      const size_t end = std::min(bytes.find('\n', start), bytes.size());
      lines.push_back(std::string_view(bytes).substr(start, end - start));
      start = end + 1;
    }
    size_t line = 0;
    for (const auto& block : blocks) {
      const size_t count = block.first;
      const std::string& hash = block.second;
      std::string ids_text;
      for (size_t k = 0; k < count && line + k < lines.size(); ++k) {
        const std::vector<int64_t> ids = tokenizer.encode(lines[line + k]);
        for (size_t i = 0; i < ids.size(); ++i) {
          if (i > 0) ids_text += ',';
          ids_text += std::to_string(ids[i]);
        }
        ids_text += "\n";
      }
      CHECK_MESSAGE(fmt::format("{:016x}", fnv1a(ids_text)) == hash,
                    file << " lines " << line + 1 << "-" << line + count
                         << " tokenize differently from transformers");
      line += count;
    }
    CHECK(line == lines.size());
    lines_checked += lines.size();
  }
  CHECK(lines_checked > 200000);
}

TEST_CASE("replace_invalid_utf8 replaces each maximal ill-formed subsequence with one U+FFFD") {
  const std::string r = "\xEF\xBF\xBD";
  CHECK(gpt::replace_invalid_utf8("plain ascii") == "plain ascii");
  CHECK(gpt::replace_invalid_utf8("caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80") ==
        "caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80");
  CHECK(gpt::replace_invalid_utf8("a\xFF"
                                  "b") == "a" + r + "b");
  CHECK(gpt::replace_invalid_utf8("\xE6\x97 x") == r + " x");             // truncated: one
  CHECK(gpt::replace_invalid_utf8("\xC0\xAF") == r + r);                  // overlong lead: two
  CHECK(gpt::replace_invalid_utf8("\xED\xA0\x80") == r + r + r);          // surrogate: three
  CHECK(gpt::replace_invalid_utf8("\xF4\x90\x80\x80") == r + r + r + r);  // above U+10FFFF
  CHECK(gpt::replace_invalid_utf8("\xF0\x9F\x98") == r);                  // cut at the end
  CHECK(gpt::replace_invalid_utf8("") == "");
}

TEST_CASE(
    "gpt2 tokenizer: reads a folder with only tokenizer.json, and with only vocab and merges") {
  const gpt::ByteLevelBPE reference = gpt::ByteLevelBPE::from_folder(kFixture.string());
  const std::string sample = "First Citizen:\nBefore we proceed any further, hear me speak.";
  {
    TemporaryDirectory only_json;
    fs::copy_file(kFixture / "tokenizer.json", only_json.path / "tokenizer.json");
    const gpt::ByteLevelBPE tokenizer = gpt::ByteLevelBPE::from_folder(only_json.path.string());
    CHECK(tokenizer.encode(sample) == reference.encode(sample));
    CHECK(tokenizer.encode("<|endoftext|>") == std::vector<int64_t>{0});
  }
  {
    TemporaryDirectory no_json;
    fs::copy_file(kFixture / "vocab.json", no_json.path / "vocab.json");
    fs::copy_file(kFixture / "merges.txt", no_json.path / "merges.txt");
    fs::copy_file(kFixture / "tokenizer_config.json", no_json.path / "tokenizer_config.json");
    const gpt::ByteLevelBPE tokenizer = gpt::ByteLevelBPE::from_folder(no_json.path.string());
    CHECK(tokenizer.encode(sample) == reference.encode(sample));
  }
}

TEST_CASE("gpt2 tokenizer: hostile tokenizer files are refused, naming the file and the fault") {
  const std::string vocab = read_bytes(kFixture / "vocab.json");
  const std::string merges = read_bytes(kFixture / "merges.txt");
  auto make = [](const std::string& v, const std::string& m) {
    return gpt::ByteLevelBPE(v, m, {{"<|endoftext|>", 0}}, "test folder");
  };
  CHECK_NOTHROW(make(vocab, merges));
  check_error([&] { make("[1, 2]", merges); }, {"vocab.json", "expected an object"});
  check_error([&] { make(R"({"a": "one"})", merges); }, {"vocab.json", "must be an integer"});
  check_error([&] { make(R"({"a": -3})", merges); }, {"vocab.json", "outside"});
  check_error([&] { make(R"({"a": 1, "b": 1})", merges); }, {"vocab.json", "given to both"});
  check_error([&] { make(R"({"a": 1})", merges); }, {"vocab.json", "has no entry", "256"});
  check_error([&] { make(R"({"a": 1, "a": 2})", merges); }, {"vocab.json"});
  check_error([&] { make(vocab, "#version: 0.2\nĠt\n"); }, {"merges.txt line 2", "two tokens"});
  check_error([&] { make(vocab, "#version: 0.2\nĠ  t\n"); }, {"merges.txt line 2"});
  check_error([&] { make(vocab, "#version: 0.2\nĠ zzzz\n"); },
              {"merges.txt line 2", "not in vocab"});
  check_error(
      [&] {
        gpt::ByteLevelBPE(vocab, merges, {{"", 5}}, "test folder");
      },
      {"added token of 0 bytes"});
  check_error(
      [&] {
        gpt::ByteLevelBPE(vocab, merges, {{"<pad>", 7}}, "test folder");
      },
      {"<pad>", "vocab.json gives to"});
  check_error([&] { gpt::ByteLevelBPE::from_folder("/nonexistent/heed/folder"); },
              {"no tokenizer here"});
  check_error([&] { make(vocab, merges).decode({5000}); }, {"id 5000", "not in the vocabulary"});

  TemporaryDirectory folder;
  nlohmann::json tokenizer = nlohmann::json::parse(read_bytes(kFixture / "tokenizer.json"));
  auto write_and_load = [&](const nlohmann::json& json) {
    write_bytes(folder.path / "tokenizer.json", json.dump());
    return gpt::ByteLevelBPE::from_folder(folder.path.string());
  };
  nlohmann::json other_model = tokenizer;
  other_model["model"]["type"] = "WordPiece";
  check_error([&] { write_and_load(other_model); }, {"tokenizer.json", "not BPE", "GPT-2"});
  nlohmann::json prefix_space = tokenizer;
  prefix_space["pre_tokenizer"]["add_prefix_space"] = true;
  check_error([&] { write_and_load(prefix_space); }, {"add_prefix_space"});
  nlohmann::json stripped = tokenizer;
  stripped["added_tokens"][0]["lstrip"] = true;
  check_error([&] { write_and_load(stripped); }, {"<|endoftext|>", "lstrip"});
  nlohmann::json bad_merge = tokenizer;
  bad_merge["model"]["merges"][0] = 42;
  check_error([&] { write_and_load(bad_merge); }, {"a merge must be"});
  write_bytes(folder.path / "tokenizer.json", "{\"model\": ");
  check_error([&] { gpt::ByteLevelBPE::from_folder(folder.path.string()); },
              {"tokenizer.json", "syntax error"});
}
