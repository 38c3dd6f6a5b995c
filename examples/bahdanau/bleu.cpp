#include "examples/bahdanau/bleu.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/error.hpp"

namespace bahdanau {

namespace {

// Every n-gram of `tokens` with its count.
std::map<Tokens, int64_t> ngram_counts(const Tokens& tokens, size_t n) {
  std::map<Tokens, int64_t> counts;
  for (size_t i = 0; i + n <= tokens.size(); ++i) {
    ++counts[Tokens(tokens.begin() + int64_t(i), tokens.begin() + int64_t(i + n))];
  }
  return counts;
}

// Prediction n-grams found in the label, each label n-gram used at most as often as it occurs.
int64_t clipped_matches(const Tokens& prediction, const Tokens& label, size_t n) {
  const std::map<Tokens, int64_t> label_counts = ngram_counts(label, n);
  int64_t matches = 0;
  for (const auto& [gram, count] : ngram_counts(prediction, n)) {
    const auto it = label_counts.find(gram);
    if (it != label_counts.end()) matches += std::min(count, it->second);
  }
  return matches;
}

double brevity_penalty(double prediction_length, double reference_length) {
  if (prediction_length == 0) return 0;
  return std::exp(std::min(0.0, 1.0 - reference_length / prediction_length));
}

}  // namespace

double sentence_bleu(const Tokens& prediction, const Tokens& label, int k) {
  if (k < 1) heed::fail("BLEU needs k >= 1, got {}", k);
  double score = brevity_penalty(double(prediction.size()), double(label.size()));
  // As d2l: n-gram orders beyond the hypothesis' length are left out (a two-word hypothesis is
  // scored on unigrams and bigrams only), rather than scoring it 0.
  const int orders = std::min<int>(k, int(prediction.size()));
  for (int n = 1; n <= orders; ++n) {
    const double grams = double(prediction.size() - size_t(n) + 1);
    const double precision = double(clipped_matches(prediction, label, size_t(n))) / grams;
    score *= std::pow(precision, std::pow(0.5, n));
  }
  return score;
}

double corpus_bleu(const std::vector<Tokens>& predictions, const std::vector<Tokens>& references,
                   int max_n) {
  if (predictions.size() != references.size()) {
    heed::fail("corpus BLEU needs one reference per prediction, got {} and {}", predictions.size(),
               references.size());
  }
  if (max_n < 1) heed::fail("BLEU needs max_n >= 1, got {}", max_n);
  double prediction_length = 0, reference_length = 0, log_precisions = 0;
  for (size_t i = 0; i < predictions.size(); ++i) {
    prediction_length += double(predictions[i].size());
    reference_length += double(references[i].size());
  }
  for (int n = 1; n <= max_n; ++n) {
    double matches = 0, grams = 0;
    for (size_t i = 0; i < predictions.size(); ++i) {
      matches += double(clipped_matches(predictions[i], references[i], size_t(n)));
      grams += double(std::max<int64_t>(0, int64_t(predictions[i].size()) - n + 1));
    }
    if (matches == 0) return 0;
    log_precisions += std::log(matches / grams) / max_n;
  }
  return brevity_penalty(prediction_length, reference_length) * std::exp(log_precisions);
}

}  // namespace bahdanau
