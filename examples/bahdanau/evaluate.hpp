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

struct EvalResult {
  int64_t count = 0;
  double corpus_bleu4 = 0, mean_bleu2 = 0, exact_match = 0;
};

EvalResult evaluate(const Translator& translator, const std::vector<SentencePair>& pairs,
                    const EvalOptions& options);

// "1000 pairs: exact match 99.90%, corpus BLEU-4 0.998, mean BLEU (d2l, k=2) 0.999"
std::string summary(const EvalResult& result);

}  // namespace bahdanau
