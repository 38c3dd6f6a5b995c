#include "examples/bahdanau/evaluate.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "examples/bahdanau/bleu.hpp"
#include "nn/distributed.hpp"

namespace bahdanau {

using namespace heed;
namespace distributed = heed::nn::distributed;

namespace {

// What one rank of a job sends the others about a translated pair: its text and its tokens,
// each string written as its length, a colon and its bytes (any bytes, so no escaping).
void append_string(std::string& out, const std::string& text) {
  out += std::to_string(text.size());
  out += ':';
  out += text;
}

struct Translated {
  std::string text;
  Tokens prediction;
};

std::string serialize(const std::vector<Translated>& translated) {
  std::string out;
  for (const Translated& t : translated) {
    append_string(out, t.text);
    append_string(out, std::to_string(t.prediction.size()));
    for (const std::string& token : t.prediction) append_string(out, token);
  }
  return out;
}

std::vector<Translated> deserialize(const std::string& bytes) {
  size_t at = 0;
  auto next = [&]() {
    const size_t colon = bytes.find(':', at);
    if (colon == std::string::npos) fail("evaluate: a rank sent a malformed translation list");
    const size_t length = std::stoull(bytes.substr(at, colon - at));
    if (length > bytes.size() - colon - 1) fail("evaluate: a rank sent a truncated translation");
    std::string text = bytes.substr(colon + 1, length);
    at = colon + 1 + length;
    return text;
  };
  std::vector<Translated> translated;
  while (at < bytes.size()) {
    Translated t;
    t.text = next();
    const size_t count = std::stoull(next());
    for (size_t i = 0; i < count; ++i) t.prediction.push_back(next());
    translated.push_back(std::move(t));
  }
  return translated;
}

}  // namespace

EvalResult evaluate(const Translator& translator, const std::vector<SentencePair>& pairs,
                    const EvalOptions& o) {
  if (pairs.empty()) fail("evaluate: there are no pairs to evaluate on");
  if (o.batch_size < 1) fail("--batch-size must be at least 1, got {}", o.batch_size);
  examples::check_range("--show", o.show, eval_limits::show);
  examples::check_range("--heatmap-count", o.heatmaps, eval_limits::heatmaps);
  if (!o.heatmap_dir.empty()) {
    examples::check_output_directory(o.heatmap_dir, "--heatmaps");
    std::error_code error;
    std::filesystem::create_directories(o.heatmap_dir, error);
    if (error) fail("--heatmaps {}: cannot create it: {}", o.heatmap_dir, error.message());
  }
  // In a data-parallel job each rank translates its share of the pairs (and draws the heatmaps
  // of those among the first --heatmap-count); the scores are then computed from all of them.
  const auto [begin, end] = distributed::shard(int64_t(pairs.size()));
  std::vector<Translated> mine;
  for (size_t start = size_t(begin); start < size_t(end); start += size_t(o.batch_size)) {
    const size_t stop = std::min(size_t(end), start + size_t(o.batch_size));
    std::vector<std::string> sources;
    for (size_t i = start; i < stop; ++i) sources.push_back(pairs[i].source);
    const std::vector<Translation> translations = translator.translate(sources, o.beam, o.alpha);
    for (size_t i = start; i < stop; ++i) {
      const Translation& t = translations[i - start];
      if (!o.heatmap_dir.empty() && int64_t(i) < o.heatmaps) {
        const std::string path = (std::filesystem::path(o.heatmap_dir) /
                                  fmt::format("attention_{}.{}", i, o.heatmap_format))
                                     .string();
        write_attention_heatmap(path, translator, pairs[i].source, t);
      }
      mine.push_back({translator.detokenize(t.tokens), translator.target_tokens(t.tokens)});
    }
  }
  std::vector<Translated> translated;
  if (distributed::world_size() == 1) {
    translated = std::move(mine);
  } else {
    for (const std::string& piece : distributed::all_gather(serialize(mine))) {
      for (Translated& t : deserialize(piece)) translated.push_back(std::move(t));
    }
  }

  if (translated.size() != pairs.size()) {
    fail("evaluate: the ranks sent {} translations for {} pairs", translated.size(), pairs.size());
  }
  std::vector<Tokens> predictions, references;
  EvalResult result;
  double bleu2_sum = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const std::string& text = translated[i].text;
    Tokens reference = tokenize(pairs[i].target, translator.tokenizer);
    const double bleu2 = sentence_bleu(translated[i].prediction, reference, 2);
    const bool exact = translated[i].prediction == reference;
    bleu2_sum += bleu2;
    result.exact_match += exact;
    if (int64_t(i) < o.show) {
      fmt::print("  {} => {}, bleu {:.3f}{}\n", pairs[i].source, text, bleu2,
                 exact ? "" : fmt::format("  (reference: {})", pairs[i].target));
    }
    result.pairs.push_back({pairs[i].source, pairs[i].target, text, bleu2, exact});
    predictions.push_back(std::move(translated[i].prediction));
    references.push_back(std::move(reference));
  }
  result.count = int64_t(pairs.size());
  result.corpus_bleu4 = corpus_bleu(predictions, references, 4);
  result.mean_bleu2 = bleu2_sum / double(result.count);
  result.exact_match /= double(result.count);
  return result;
}

void write_eval_json(const std::string& path, const EvalResult& r) {
  nlohmann::json pairs = nlohmann::json::array();
  for (const ScoredPair& p : r.pairs) {
    pairs.push_back({{"source", p.source},
                     {"reference", p.reference},
                     {"translation", p.translation},
                     {"bleu2", p.bleu2},
                     {"exact", p.exact}});
  }
  const nlohmann::json document = {{"count", r.count},
                                   {"exact_match", r.exact_match},
                                   {"corpus_bleu4", r.corpus_bleu4},
                                   {"mean_bleu2", r.mean_bleu2},
                                   {"pairs", pairs}};
  examples::write_file_atomically(path, document.dump(1) + "\n", "--json");
}

std::string summary(const EvalResult& r) {
  return fmt::format(
      "{} pairs: exact match {:.2f}%, corpus BLEU-4 {:.3f}, mean BLEU (d2l, k=2) {:.3f}", r.count,
      100 * r.exact_match, r.corpus_bleu4, r.mean_bleu2);
}

}  // namespace bahdanau
