// Scaled dot-product attention as one fused op, PyTorch's
// torch.nn.functional.scaled_dot_product_attention without dropout:
//   out = softmax(scale q k^T, masked) v
// The composite form (matmul, masked_softmax, matmul) writes the whole (L, S) score matrix of
// every head, reads it back for the softmax, and keeps the probabilities for the backward. The
// fused op works in tiles of queries and keys with an online softmax, keeps one number per query
// (its logsumexp) for the backward, and skips the key tiles a causal mask hides entirely.
// docs/attention.md, "Fused attention", derives it.
#pragma once

#include <optional>

#include "engine/tensor.hpp"

namespace heed {

struct AttentionMask {
  bool causal =
      false;  // query t sees keys j <= t + S - L (bottom-right aligned, as masked_softmax)
  Tensor key_keep = {};  // (B, S), bool or 0/1: 1 keeps key j of batch row b (left padding)
};

// q (B, H, L, d), k (B, H, S, d), v (B, H, S, e) -> (B, H, L, e). scale defaults to 1/sqrt(d). A
// query that keeps no key gets zeros and no gradient, never NaN.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionMask& mask = {},
                                    std::optional<double> scale = std::nullopt);

// The same from matmul and masked_softmax: the reference the fused op is tested against.
Tensor scaled_dot_product_attention_composite(const Tensor& q, const Tensor& k, const Tensor& v,
                                              const AttentionMask& mask = {},
                                              std::optional<double> scale = std::nullopt);

}  // namespace heed
