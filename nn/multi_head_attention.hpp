// Multi-head attention, with PyTorch's parameters (nn.MultiheadAttention with batch_first=True):
//   in_proj_weight (3E, E), in_proj_bias (3E): the query, key and value projections stacked
//   out_proj.weight (E, E), out_proj.bias (E)
// Each of H heads attends in its own E/H-dim slice:
//   head_i = softmax(Q_i K_i^T / sqrt(E/H), masked) V_i,   out = concat(head_1..head_H) W_o^T + b_o
//
// Masks follow heed's keep convention (1 keeps, 0 drops), the attention_mask of a tokenizer.
// PyTorch's boolean key_padding_mask means the opposite (True drops): pass its negation.
#pragma once

#include <memory>

#include "nn/dropout.hpp"
#include "nn/linear.hpp"

namespace heed::nn {

struct AttentionOptions {
  Tensor key_padding_mask = {};  // (B, S): 1 for a real key, 0 for padding
  Tensor attn_mask = {};         // keep mask broadcastable to (B, H, L, S), e.g. (L, S)
  bool is_causal = false;        // query i sees keys j <= i + (S - L) (aligned to the last key)
  // As PyTorch's: the weights are returned and kept (attention_weights). false lets the layer use
  // the fused attention, which never forms them (with no attn_mask and no dropout on them).
  bool need_weights = true;
  bool average_attn_weights = true;  // weights (B, L, S) averaged over heads, else (B, H, L, S)
};

// The keys and values of every position seen so far, for generation: each new token then costs
// one position's projections instead of the whole context's. They are kept split into heads, in
// buffers with room to spare (doubled when full, as std::vector grows), so a step writes only its
// own positions: concatenating would copy the whole cache, into a new block of a new size, at
// every step. Cached positions carry no gradient: a cache is used under NoGradGuard.
class KVCache {
 public:
  int64_t length() const { return length_; }  // positions held
  int64_t capacity() const { return keys_.defined() ? keys_.size(2) : 0; }

  // Appends keys and values (B, H, T, d) of new positions; returns views of every position so
  // far, (B, H, S, d) each. The views stay valid until the next append.
  std::pair<Tensor, Tensor> append(const Tensor& keys, const Tensor& values);

 private:
  Tensor keys_, values_;  // (B, H, capacity, d); positions [0, length_) hold values
  int64_t length_ = 0;
};

class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(int64_t embed_dim, int64_t num_heads, double dropout = 0.0, bool bias = true,
                     DType dtype = kFloat32);

  // query (B, L, E), key and value (B, S, E) -> output (B, L, E) and the weights (undefined
  // unless need_weights), with their graph. attention_weights keeps a detached copy.
  std::pair<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const AttentionOptions& options = {});
  std::pair<Tensor, Tensor> operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                                       const AttentionOptions& options = {}) {
    return forward(query, key, value, options);
  }

  // Self-attention over x (B, T, E). With a cache, x holds only the new positions: their keys
  // and values are appended to the cache and the queries attend to everything in it. The
  // key_padding_mask then covers all cached positions plus the new ones (B, S_cache + T). A
  // cache is for generation: with one, grad mode must be off (NoGradGuard).
  Tensor self_attention(const Tensor& x, const AttentionOptions& options = {},
                        KVCache* cache = nullptr);

  int64_t embed_dim, num_heads, head_dim;
  Tensor in_proj_weight, in_proj_bias;  // (3E, E), (3E)
  std::shared_ptr<Linear> out_proj;
  Tensor attention_weights;  // from the last forward, as returned but detached (no graph)

 protected:
  std::string extra_repr() const override;

 private:
  // Queries (B, H, L, d), keys and values (B, H, S, d), already projected and split into heads
  // -> the output (B, L, E) before out_proj, and the weights forward returns (undefined unless
  // need_weights).
  std::pair<Tensor, Tensor> attend(const Tensor& heads_q, const Tensor& heads_k,
                                   const Tensor& heads_v, const AttentionOptions& options);
  Tensor split_heads(const Tensor& x) const;  // (B, T, E) -> (B, H, T, E/H)
  std::shared_ptr<Dropout> dropout_;
};

}  // namespace heed::nn
