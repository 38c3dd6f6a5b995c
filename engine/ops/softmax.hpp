// softmax, log_softmax and masked_softmax.
#pragma once

#include "engine/tensor.hpp"

namespace heed {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// Which keys (entries of the last dim) masked_softmax may use. Name the fields when you build
// one, so valid lengths can never be mistaken for a 0/1 mask:
//   masked_softmax(scores, {.valid_lens = lens})             d2l's valid lengths
//   masked_softmax(scores, {.keep_mask = attention_mask})    1 keeps, 0 drops
//   masked_softmax(scores, {.causal = true})                 key j visible to query i if j <= i
// and any combination of the three (a key must pass all of them).
struct SoftmaxMask {
  // int64 of shape x.shape[:k] for some 1 <= k < x.dim(): (B,) or (B, Q) for x (B, Q, K).
  // Keys at positions >= the row's valid length are dropped; 0 <= valid length <= K.
  Tensor valid_lens = {};
  // bool, or int64/float holding only 0 and 1, broadcastable to x's shape.
  Tensor keep_mask = {};
  // Query q (of Q) sees keys j <= q + (K - Q): aligned to the last key, so during cached
  // generation a single new query (Q = 1) sees every key before it.
  bool causal = false;
};

// Softmax over the last dim, where masked entries get exactly 0 probability and 0 gradient;
// a row with every key masked is all zeros (never NaN, never uniform). Masks carry no gradient.
Tensor masked_softmax(const Tensor& x, const SoftmaxMask& mask);

}  // namespace heed
