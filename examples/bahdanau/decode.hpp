// Translating with a trained model: the decoder is fed its own previous choice, one token at
// a time, until it writes <eos> (or max_steps tokens).
//   greedy  every sentence of a batch at once, taking the most likely token at each step
//   beam    keeps the `beam` most likely partial translations and returns the finished one with
//           the best length-normalised log-probability, log P / length^alpha (alpha 0 favours
//           short outputs, 1 is the per-token mean)
#pragma once

#include <vector>

#include "examples/bahdanau/data.hpp"
#include "examples/bahdanau/model.hpp"

namespace bahdanau {

struct Translation {
  std::vector<int64_t> tokens;  // target ids, without the closing <eos>
  bool finished = false;        // ended with <eos> (else it ran into max_steps)
  Tensor attention;             // (decoded steps, source valid length): each step's weights
  double log_prob = 0;          // of the tokens (and <eos>) under the model
};

// source: the encoded sentences (tokens (B, T), valid_lens (B,)), as in training.
std::vector<Translation> greedy_translate(Seq2Seq& model, const Encoded& source, int64_t max_steps);

// One sentence (tokens (1, T), valid_lens (1,)). beam 1 gives the greedy translation.
Translation beam_translate(Seq2Seq& model, const Encoded& source, int64_t beam, double alpha,
                           int64_t max_steps);

}  // namespace bahdanau
