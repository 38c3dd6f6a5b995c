// Attention modules. Each scores queries against keys, turns the scores into weights with the
// engine's masked softmax (masked keys get exactly 0 weight, a fully masked row is all zeros),
// drops some weights while training, and averages the values with them:
//   out = dropout(masked_softmax(score(q, k), mask)) @ v
// Every module keeps its last weights in attention_weights, for heatmaps: detached, so the
// module never holds the last step's graph (and every activation under it) until its next
// forward. forward_with_weights returns differentiable weights for a loss that needs them.
//
// Shapes: queries (B, Q, q_size), keys (B, K, k_size), values (B, K, v_size) -> (B, Q, v_size).
// The mask is the engine's SoftmaxMask: valid_lens (B,) or (B, Q) as in d2l, and/or a 0/1
// keep_mask broadcastable to (B, Q, K), and/or causal.
#pragma once

#include <memory>

#include "nn/dropout.hpp"
#include "nn/linear.hpp"

namespace heed::nn {

// The part all scoring functions share: mask, softmax, dropout, weighted sum of values. A
// subclass says only how keys are projected and how a query scores a projected key.
class Attention : public Module {
 public:
  Tensor attention_weights;  // (B, Q, K) from the last forward, detached (no graph)

  // queries (B, Q, q_size), keys (B, K, k_size), values (B, K, v_size) -> (B, Q, v_size)
  Tensor forward(const Tensor& queries, const Tensor& keys, const Tensor& values,
                 const SoftmaxMask& mask = {});
  Tensor operator()(const Tensor& q, const Tensor& k, const Tensor& v, const SoftmaxMask& m = {}) {
    return forward(q, k, v, m);
  }
  // The output and the weights (B, Q, K), both part of the graph.
  std::pair<Tensor, Tensor> forward_with_weights(const Tensor& queries, const Tensor& keys,
                                                 const Tensor& values,
                                                 const SoftmaxMask& mask = {});

  // A decoder attends to the same keys at every step: it projects them once with project_keys
  // and calls forward_projected at each step. Same result as forward, less work.
  virtual Tensor project_keys(const Tensor& keys) { return keys; }  // (B, K, k) -> (B, K, *)
  Tensor forward_projected(const Tensor& queries, const Tensor& projected_keys,
                           const Tensor& values, const SoftmaxMask& mask = {});

 protected:
  Attention(std::string type_name, double dropout);
  // queries (B, Q, q_size), projected keys (B, K, *) -> scores (B, Q, K)
  virtual Tensor score(const Tensor& queries, const Tensor& projected_keys) = 0;
  // scores (B, Q, K), values (B, K, v) -> output (B, Q, v) and weights (B, Q, K), with graph
  std::pair<Tensor, Tensor> attend(const Tensor& scores, const Tensor& values,
                                   const SoftmaxMask& mask);
  void check_inputs(const Tensor& queries, const Tensor& keys, const Tensor& values) const;
  std::shared_ptr<Dropout> dropout_;
};

// Scaled dot product: score(q, k) = q . k / sqrt(d). No parameters.
class DotProductAttention : public Attention {
 public:
  explicit DotProductAttention(double dropout = 0.0);

 protected:
  Tensor score(const Tensor& queries, const Tensor& keys) override;
};

// Bahdanau's additive score: score(q, k) = w_v . tanh(W_q q + W_k k), no biases (d2l's).
// Parameters W_q.weight (H, q_size), W_k.weight (H, k_size), w_v.weight (1, H).
class AdditiveAttention : public Attention {
 public:
  AdditiveAttention(int64_t key_size, int64_t query_size, int64_t num_hiddens,
                    double dropout = 0.0);
  Tensor project_keys(const Tensor& keys) override;  // W_k k
  std::shared_ptr<Linear> W_k, W_q, w_v;

 protected:
  Tensor score(const Tensor& queries, const Tensor& projected_keys) override;
};

// Luong's scores (Luong, Pham and Manning, 2015), unscaled:
//   dot      score(q, k) = q . k                      (q_size == k_size)
//   general  score(q, k) = q . (W k)                  W.weight (q_size, k_size)
//   concat   score(q, k) = v . tanh(W [q; k])         W.weight (H, q_size + k_size),
//                                                      v.weight (1, H)
enum class LuongScore { Dot, General, Concat };

class LuongAttention : public Attention {
 public:
  LuongAttention(LuongScore kind, int64_t query_size, int64_t key_size, int64_t num_hiddens = 0,
                 double dropout = 0.0);
  Tensor project_keys(const Tensor& keys) override;  // k, W k, or W_k k (concat's key half)
  LuongScore kind;
  int64_t query_size, key_size;
  std::shared_ptr<Linear> W, v;  // per score kind, see above

 protected:
  Tensor score(const Tensor& queries, const Tensor& projected_keys) override;
  std::string extra_repr() const override;
};

}  // namespace heed::nn
