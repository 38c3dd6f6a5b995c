#include "examples/bahdanau/translator.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "engine/io/json_reader.hpp"
#include "examples/common/checks.hpp"
#include "examples/common/device_option.hpp"
#include "examples/common/heatmap.hpp"

namespace bahdanau {

using namespace heed;

std::vector<std::string> Translator::source_tokens(const std::string& sentence) const {
  return tokenize(preprocess(sentence), tokenizer);
}

Encoded Translator::encode(const std::vector<std::string>& sentences) const {
  std::vector<std::vector<std::string>> tokens;
  for (const auto& sentence : sentences) tokens.push_back(source_tokens(sentence));
  return encode_sentences(tokens, source_vocab, num_steps);
}

std::vector<std::string> Translator::target_tokens(const std::vector<int64_t>& ids) const {
  std::vector<std::string> tokens;
  for (int64_t id : ids) tokens.push_back(target_vocab.token(id));
  return tokens;
}

std::string Translator::detokenize(const std::vector<int64_t>& ids) const {
  const std::vector<std::string> tokens = target_tokens(ids);
  return fmt::format("{}", fmt::join(tokens, tokenizer == Tokenizer::Words ? " " : ""));
}

std::vector<Translation> Translator::translate(const std::vector<std::string>& sentences,
                                               int64_t beam, double alpha,
                                               int64_t max_steps) const {
  examples::check_range("--beam", beam, decode_limits::beam);
  examples::check_range("--alpha", alpha, decode_limits::alpha);
  examples::check_range("--max-steps", max_steps, decode_limits::max_steps);
  const int64_t steps = max_steps > 0 ? max_steps : num_steps;
  const Device device = examples::device_of(*model);
  auto on_device = [&](Encoded e) { return Encoded{e.tokens.to(device), e.valid_lens.to(device)}; };
  if (beam == 1) return greedy_translate(*model, on_device(encode(sentences)), steps);
  std::vector<Translation> out;
  for (const auto& sentence : sentences) {
    out.push_back(beam_translate(*model, on_device(encode({sentence})), beam, alpha, steps));
  }
  return out;
}

nn::Metadata translator_metadata(const Seq2SeqConfig& config, const Vocab& source_vocab,
                                 const Vocab& target_vocab, Tokenizer tokenizer,
                                 int64_t num_steps) {
  return {{"program", "bahdanau"},
          {"config", config.to_json()},
          {"source_vocab", nlohmann::json(source_vocab.tokens()).dump()},
          {"target_vocab", nlohmann::json(target_vocab.tokens()).dump()},
          {"tokenizer", tokenizer_name(tokenizer)},
          {"num_steps", std::to_string(num_steps)}};
}

Vocab vocab_from_metadata(const nn::Metadata& metadata, const std::string& key,
                          const std::string& checkpoint) {
  const std::string what = fmt::format("{}: the vocabulary '{}'", checkpoint, key);
  const nlohmann::json list =
      parse_untrusted_json(examples::metadata_entry(metadata, key, checkpoint), what);
  if (!list.is_array()) fail("{} is {}, expected a list of tokens", what, describe_json(list));
  std::vector<std::string> tokens;
  std::set<std::string> seen;
  for (const nlohmann::json& token : list) {
    if (!token.is_string()) {
      fail("{}: entry {} is {}, expected a string", what, tokens.size(), describe_json(token));
    }
    const std::string& text = token.get_ref<const std::string&>();
    const std::string place = fmt::format("{}: entry {}", what, tokens.size());
    examples::check_utf8(text, place);
    if (text.empty() || text.find_first_of(" \t\r\n") != std::string::npos) {
      fail("{} is {}, expected a token (not empty, no spaces)", place, printable(text));
    }
    if (!seen.insert(text).second) fail("{} repeats {}", place, printable(text));
    tokens.push_back(text);
  }
  return Vocab(std::move(tokens));
}

Translator load_translator(const std::string& checkpoint, Device device) {
  Translator t;
  t.metadata = nn::read_checkpoint_metadata(checkpoint);
  if (examples::metadata_entry(t.metadata, "program", checkpoint) != "bahdanau") {
    fail("{} is not a checkpoint of bahdanau (its program is {})", checkpoint,
         printable(t.metadata.at("program")));
  }
  t.source_vocab = vocab_from_metadata(t.metadata, "source_vocab", checkpoint);
  t.target_vocab = vocab_from_metadata(t.metadata, "target_vocab", checkpoint);
  t.num_steps =
      examples::parse_whole_number(examples::metadata_entry(t.metadata, "num_steps", checkpoint),
                                   checkpoint + ": num_steps", limits::num_steps);
  t.tokenizer = tokenizer_from_name(examples::metadata_entry(t.metadata, "tokenizer", checkpoint));
  Seq2SeqConfig config = Seq2SeqConfig::from_json(
      examples::metadata_entry(t.metadata, "config", checkpoint), checkpoint);
  if (config.source_vocab != t.source_vocab.size() ||
      config.target_vocab != t.target_vocab.size()) {
    fail("{}: the config's vocabulary sizes ({}, {}) do not match the saved vocabularies ({}, {})",
         checkpoint, config.source_vocab, config.target_vocab, t.source_vocab.size(),
         t.target_vocab.size());
  }
  t.model = std::make_unique<Seq2Seq>(config);
  nn::load_checkpoint(checkpoint, *t.model);
  t.model->to(device);
  t.model->eval();
  return t;
}

void write_attention_heatmap(const std::string& path, const Translator& translator,
                             const std::string& sentence, const Translation& translation) {
  std::vector<std::string> columns = translator.source_tokens(sentence);
  columns.push_back("<eos>");
  columns.resize(size_t(translation.attention.size(1)));  // as the encoder saw it (num_steps)
  std::vector<std::string> rows = translator.target_tokens(translation.tokens);
  if (translation.finished) rows.push_back("<eos>");
  examples::write_heatmaps(
      path, {{translation.attention, rows, columns,
              fmt::format("{} -> {}", sentence, translator.detokenize(translation.tokens))}});
}

}  // namespace bahdanau
