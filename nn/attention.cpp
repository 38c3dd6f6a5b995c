// The attention modules: the shared mask-softmax-dropout-average step, and the dot-product,
// additive and Luong scores (each projecting its keys once, for decoders).
#include "nn/attention.hpp"

#include <cmath>

namespace heed::nn {

Attention::Attention(std::string type_name, double dropout) : Module(std::move(type_name)) {
  dropout_ = register_module("dropout", std::make_shared<Dropout>(dropout));
}

void Attention::check_inputs(const Tensor& queries, const Tensor& keys,
                             const Tensor& values) const {
  if (queries.dim() != 3 || keys.dim() != 3 || values.dim() != 3 ||
      keys.size(0) != queries.size(0) || values.size(0) != queries.size(0) ||
      values.size(1) != keys.size(1)) {
    fail("{}: expected queries (B, Q, q), keys (B, K, k) and values (B, K, v), got {}, {} and {}",
         type_name(), shape_str(queries.shape()), shape_str(keys.shape()),
         shape_str(values.shape()));
  }
}

Tensor Attention::forward(const Tensor& queries, const Tensor& keys, const Tensor& values,
                          const SoftmaxMask& mask) {
  return forward_with_weights(queries, keys, values, mask).first;
}

std::pair<Tensor, Tensor> Attention::forward_with_weights(const Tensor& queries, const Tensor& keys,
                                                          const Tensor& values,
                                                          const SoftmaxMask& mask) {
  check_inputs(queries, keys, values);
  return attend(score(queries, project_keys(keys)), values, mask);
}

Tensor Attention::forward_projected(const Tensor& queries, const Tensor& projected_keys,
                                    const Tensor& values, const SoftmaxMask& mask) {
  check_inputs(queries, projected_keys, values);
  return attend(score(queries, projected_keys), values, mask).first;
}

std::pair<Tensor, Tensor> Attention::attend(const Tensor& scores, const Tensor& values,
                                            const SoftmaxMask& mask) {
  const Tensor weights = masked_softmax(scores, mask);  // (B, Q, K)
  attention_weights = weights.detach();                 // kept for heatmaps, without the graph
  return {bmm(dropout_->forward(weights), values), weights};  // (B, Q, v), (B, Q, K)
}

DotProductAttention::DotProductAttention(double dropout)
    : Attention("DotProductAttention", dropout) {}

Tensor DotProductAttention::score(const Tensor& queries, const Tensor& keys) {
  const int64_t d = queries.size(2);
  if (keys.size(2) != d) {
    fail("DotProductAttention: queries and keys need one size, got {} and {}",
         shape_str(queries.shape()), shape_str(keys.shape()));
  }
  // Dividing by sqrt(d) keeps the scores' variance near 1 whatever d is, so the softmax does
  // not saturate as d grows.
  return bmm(queries, keys.transpose(1, 2)) / std::sqrt(double(d));  // (B, Q, K)
}

AdditiveAttention::AdditiveAttention(int64_t key_size, int64_t query_size, int64_t num_hiddens,
                                     double dropout)
    : Attention("AdditiveAttention", dropout) {
  W_k = register_module("W_k", std::make_shared<Linear>(key_size, num_hiddens, false));
  W_q = register_module("W_q", std::make_shared<Linear>(query_size, num_hiddens, false));
  w_v = register_module("w_v", std::make_shared<Linear>(num_hiddens, 1, false));
}

Tensor AdditiveAttention::project_keys(const Tensor& keys) {
  return W_k->forward(keys);  // (B, K, H)
}

Tensor AdditiveAttention::score(const Tensor& queries, const Tensor& projected_keys) {
  // w_v . tanh(W_q q + W_k k) for every (query, key) pair, as one fused engine op
  return heed::additive_scores(W_q->forward(queries),       // (B, Q, H)
                               projected_keys,              // (B, K, H)
                               w_v->weight.reshape({-1}));  // (H) -> (B, Q, K)
}

LuongAttention::LuongAttention(LuongScore score_kind, int64_t q_size, int64_t k_size,
                               int64_t num_hiddens, double dropout)
    : Attention("LuongAttention", dropout), kind(score_kind), query_size(q_size), key_size(k_size) {
  if (kind == LuongScore::Dot && q_size != k_size) {
    fail("LuongAttention: the dot score needs query_size == key_size, got {} and {}", q_size,
         k_size);
  }
  if (kind == LuongScore::General) {
    W = register_module("W", std::make_shared<Linear>(k_size, q_size, false));
  }
  if (kind == LuongScore::Concat) {
    if (num_hiddens < 1) fail("LuongAttention: the concat score needs num_hiddens >= 1");
    W = register_module("W", std::make_shared<Linear>(q_size + k_size, num_hiddens, false));
    v = register_module("v", std::make_shared<Linear>(num_hiddens, 1, false));
  }
}

Tensor LuongAttention::project_keys(const Tensor& keys) {
  if (keys.dim() != 3 || keys.size(2) != key_size) {
    fail("LuongAttention: expected keys (B, K, {}), got {}", key_size, shape_str(keys.shape()));
  }
  switch (kind) {
    case LuongScore::Dot:
      return keys;
    case LuongScore::General:
      return W->forward(keys);  // W k (B, K, q)
    case LuongScore::Concat:
      // W [q; k] = W_q q + W_k k with W = [W_q | W_k]: project each side once, not every pair.
      return matmul(keys, W->weight.narrow(1, query_size, key_size).t());  // W_k k (B, K, H)
  }
  return keys;
}

Tensor LuongAttention::score(const Tensor& queries, const Tensor& projected_keys) {
  if (queries.size(2) != query_size) {
    fail("LuongAttention: expected queries (B, Q, {}), got {}", query_size,
         shape_str(queries.shape()));
  }
  if (kind == LuongScore::Concat) {
    const Tensor w_q = W->weight.narrow(1, 0, query_size);                  // (H, q)
    return heed::additive_scores(matmul(queries, w_q.t()), projected_keys,  // (B, Q, H), (B, K, H)
                                 v->weight.reshape({-1}));                  // -> (B, Q, K)
  }
  return bmm(queries, projected_keys.transpose(1, 2));  // q . k or q . (W k): (B, Q, K)
}

std::string LuongAttention::extra_repr() const {
  const char* names[] = {"dot", "general", "concat"};
  return fmt::format("score={}, query_size={}, key_size={}", names[static_cast<int>(kind)],
                     query_size, key_size);
}

}  // namespace heed::nn
