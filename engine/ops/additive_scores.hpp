// Bahdanau's additive attention score as one fused op. The composite form builds a
// (B, Q, K, H) tensor of tanh values and keeps it for the backward; the fused op recomputes
// them and records one node instead of five.
#pragma once

#include "engine/tensor.hpp"

namespace heed {

// query_features (B, Q, H) = W_q q, key_features (B, K, H) = W_k k, w (H) -> scores (B, Q, K):
//   scores[b, q, k] = sum_h w[h] * tanh(query_features[b, q, h] + key_features[b, k, h])
Tensor additive_scores(const Tensor& query_features, const Tensor& key_features, const Tensor& w);

// The same from broadcasting add, tanh and a matrix product: the reference the fused op is
// tested against.
Tensor additive_scores_composite(const Tensor& query_features, const Tensor& key_features,
                                 const Tensor& w);

}  // namespace heed
