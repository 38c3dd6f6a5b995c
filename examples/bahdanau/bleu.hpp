// BLEU: how many of a translation's n-grams appear in the reference.
#pragma once

#include <string>
#include <vector>

namespace bahdanau {

using Tokens = std::vector<std::string>;

// d2l.ai's sentence BLEU: exp(min(0, 1 - len_label / len_pred)) * prod_{n=1..k} p_n^(1/2^n),
// where p_n is the share of the prediction's n-grams found in the label (each label n-gram
// matched at most once). As d2l, the product runs to min(k, prediction length): a prediction
// shorter than k is scored on the orders it has (d2l's "x" against "x y" is exp(-1)).
double sentence_bleu(const Tokens& prediction, const Tokens& label, int k = 2);

// Papineni et al.'s corpus BLEU-N: n-gram matches clipped per sentence and summed over the
// corpus, the geometric mean of p_1 .. p_N with equal weights, times the brevity penalty
// exp(min(0, 1 - total reference length / total prediction length)). 0 when any p_n is 0.
double corpus_bleu(const std::vector<Tokens>& predictions, const std::vector<Tokens>& references,
                   int max_n = 4);

}  // namespace bahdanau
