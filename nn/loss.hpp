// Losses for training: cross-entropy with label smoothing, a sequence cross-entropy that
// averages over valid tokens only, and mean squared error. All composed of engine ops.
#pragma once

#include "engine/heed.hpp"

namespace heed::nn {

struct CrossEntropyLossOptions {
  int64_t ignore_index = -100;   // targets equal to this count for nothing
  double label_smoothing = 0.0;  // eps: the target distribution is (1 - eps) one-hot + eps / C
  Reduction reduction = Reduction::Mean;  // Mean: over the targets that are not ignored
};

// logits (N, C) or (N, C, d...) or (C), int64 targets (N) / (N, d...) / () as in PyTorch:
//   loss_i = (1 - eps) * (-log p_i[t_i]) + eps * mean_c(-log p_i[c])
Tensor cross_entropy(const Tensor& logits, const Tensor& targets,
                     const CrossEntropyLossOptions& options = {});

// logits (B, T, V), targets (B, T), valid_lens (B): the mean cross-entropy over the tokens
// t < valid_lens[b] only, so padding never dilutes the loss (the count of valid tokens is the
// denominator; a batch with no valid token gives 0).
Tensor sequence_cross_entropy(const Tensor& logits, const Tensor& targets, const Tensor& valid_lens,
                              double label_smoothing = 0.0);

// mean((input - target)^2), or its sum, or per element.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

}  // namespace heed::nn
