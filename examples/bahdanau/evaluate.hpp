// Scoring a translator on held-out pairs: corpus BLEU-4, d2l's sentence BLEU (k = 2) averaged,
// and exact match, with a few worked examples printed and their attention drawn.
#pragma once

#include <string>
#include <vector>

#include "examples/bahdanau/translator.hpp"

namespace bahdanau {

struct EvalOptions {
  int64_t beam = 1;
  double alpha = 0.75;
  int64_t batch_size = 256;  // sentences translated at once (greedy)
  int64_t show = 5;          // worked examples printed
  std::string heatmap_dir;   // non-empty: the first `heatmaps` examples drawn there
  int64_t heatmaps = 4;
  std::string heatmap_format = "png";
};

// One evaluated pair, as `eval --json` writes it.
struct ScoredPair {
  std::string source, reference, translation;
  double bleu2 = 0;
  bool exact = false;
};

struct EvalResult {
  int64_t count = 0;
  double corpus_bleu4 = 0, mean_bleu2 = 0, exact_match = 0;
  std::vector<ScoredPair> pairs;  // in the order evaluated
};

// The range of the evaluation flags.
namespace eval_limits {
inline constexpr examples::IntRange show{0, 1'000'000};
inline constexpr examples::IntRange heatmaps{0, 1000};
inline constexpr examples::IntRange limit{0, 1'000'000'000};
}  // namespace eval_limits

// Writes the corpus scores and every pair's to a JSON file (atomically: temp file, rename).
void write_eval_json(const std::string& path, const EvalResult& result);

EvalResult evaluate(const Translator& translator, const std::vector<SentencePair>& pairs,
                    const EvalOptions& options);

// "1000 pairs: exact match 99.90%, corpus BLEU-4 0.998, mean BLEU (d2l, k=2) 0.999"
std::string summary(const EvalResult& result);

}  // namespace bahdanau
