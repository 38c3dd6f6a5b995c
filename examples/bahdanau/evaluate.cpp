#include "examples/bahdanau/evaluate.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "examples/bahdanau/bleu.hpp"

namespace bahdanau {

using namespace heed;

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
  std::vector<Tokens> predictions, references;
  EvalResult result;
  double bleu2_sum = 0;
  for (size_t start = 0; start < pairs.size(); start += size_t(o.batch_size)) {
    const size_t end = std::min(pairs.size(), start + size_t(o.batch_size));
    std::vector<std::string> sources;
    for (size_t i = start; i < end; ++i) sources.push_back(pairs[i].source);
    const std::vector<Translation> translations = translator.translate(sources, o.beam, o.alpha);
    for (size_t i = start; i < end; ++i) {
      const Translation& t = translations[i - start];
      const std::string text = translator.detokenize(t.tokens);
      Tokens prediction = translator.target_tokens(t.tokens);
      Tokens reference = tokenize(pairs[i].target, translator.tokenizer);
      const double bleu2 = sentence_bleu(prediction, reference, 2);
      const bool exact = prediction == reference;
      bleu2_sum += bleu2;
      result.exact_match += exact;
      if (int64_t(i) < o.show) {
        fmt::print("  {} => {}, bleu {:.3f}{}\n", pairs[i].source, text, bleu2,
                   exact ? "" : fmt::format("  (reference: {})", pairs[i].target));
      }
      if (!o.heatmap_dir.empty() && int64_t(i) < o.heatmaps) {
        const std::string path = (std::filesystem::path(o.heatmap_dir) /
                                  fmt::format("attention_{}.{}", i, o.heatmap_format))
                                     .string();
        write_attention_heatmap(path, translator, pairs[i].source, t);
      }
      result.pairs.push_back({pairs[i].source, pairs[i].target, text, bleu2, exact});
      predictions.push_back(std::move(prediction));
      references.push_back(std::move(reference));
    }
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
