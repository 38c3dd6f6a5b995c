// Multi-head attention with PyTorch's parameters: projections, heads split and merged, masks,
// and a key/value cache for generation.
#include "nn/multi_head_attention.hpp"

#include <algorithm>
#include <cmath>

#include "nn/init.hpp"

namespace heed::nn {

MultiHeadAttention::MultiHeadAttention(int64_t embed, int64_t heads, double dropout, bool bias,
                                       DType dtype)
    : Module("MultiheadAttention"), embed_dim(embed), num_heads(heads) {
  if (embed < 1 || heads < 1 || embed % heads != 0) {
    fail("MultiHeadAttention: embed_dim must be a positive multiple of num_heads, got {} and {}",
         embed, heads);
  }
  head_dim = embed / heads;
  // PyTorch: xavier_uniform_ on in_proj_weight, zero biases; out_proj a Linear with zero bias.
  in_proj_weight = register_parameter("in_proj_weight", empty({3 * embed, embed}, {dtype}));
  init::uniform_(in_proj_weight, std::sqrt(6.0 / double(embed + 3 * embed)));
  if (bias) in_proj_bias = register_parameter("in_proj_bias", zeros({3 * embed}, {dtype}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(embed, embed, bias, dtype));
  if (bias) {
    NoGradGuard no_grad;
    out_proj->bias.zero_();
  }
  dropout_ = register_module("dropout", std::make_shared<Dropout>(dropout));
}

Tensor MultiHeadAttention::split_heads(const Tensor& x) const {
  // (B, T, E) -> (B, T, H, E/H) -> (B, H, T, E/H)
  return x.reshape({x.size(0), x.size(1), num_heads, head_dim}).transpose(1, 2);
}

std::pair<Tensor, Tensor> KVCache::append(const Tensor& keys, const Tensor& values) {
  if (grad_enabled() && (keys.requires_grad() || values.requires_grad())) {
    fail("KVCache: the cache keeps no gradient; append under NoGradGuard");
  }
  const int64_t batch = keys.size(0), added = keys.size(2);
  if (keys_.defined() &&
      (keys_.size(0) != batch || keys_.size(1) != keys.size(1) || keys_.size(3) != keys.size(3))) {
    fail("KVCache: the cache holds a batch of {} with {} heads of width {}, the input {}",
         keys_.size(0), keys_.size(1), keys_.size(3), shape_str(keys.shape()));
  }
  if (length_ + added > capacity()) {  // grow: at least double, and copy what is held
    const int64_t room = std::max(length_ + added, 2 * capacity());
    const Shape shape{batch, keys.size(1), room, keys.size(3)};
    Tensor grown_keys = empty(shape, {keys.dtype(), keys.device()});        // (B, H, room, d)
    Tensor grown_values = empty(shape, {values.dtype(), values.device()});  // (B, H, room, d)
    if (length_ > 0) {
      grown_keys.narrow(2, 0, length_).copy_(keys_.narrow(2, 0, length_));
      grown_values.narrow(2, 0, length_).copy_(values_.narrow(2, 0, length_));
    }
    keys_ = grown_keys;
    values_ = grown_values;
  }
  keys_.narrow(2, length_, added).copy_(keys);  // the new positions only
  values_.narrow(2, length_, added).copy_(values);
  length_ += added;
  return {keys_.narrow(2, 0, length_), values_.narrow(2, 0, length_)};  // (B, H, S, d) each
}

std::pair<Tensor, Tensor> MultiHeadAttention::attend(const Tensor& heads_q, const Tensor& heads_k,
                                                     const Tensor& heads_v,
                                                     const AttentionOptions& options) {
  const int64_t batch = heads_q.size(0), length = heads_q.size(2), keys = heads_k.size(2);
  if (options.key_padding_mask.defined() &&
      options.key_padding_mask.shape() != Shape{batch, keys}) {
    fail("MultiHeadAttention: expected key_padding_mask of shape ({}, {}), got {}", batch, keys,
         shape_str(options.key_padding_mask.shape()));
  }
  // The fused op (engine/ops/attention.hpp) when nothing asks for the weights themselves: no
  // weights to return or keep, no general attn_mask, no dropout on the weights.
  const bool dropout_active = is_training() && dropout_->p > 0;
  if (!options.need_weights && !options.attn_mask.defined() && !dropout_active) {
    const Tensor heads_out = scaled_dot_product_attention(
        heads_q, heads_k, heads_v,
        {.causal = options.is_causal, .key_keep = options.key_padding_mask});  // (B, H, L, d)
    attention_weights = Tensor();
    return {heads_out.transpose(1, 2).reshape({batch, length, embed_dim}), Tensor()};  // (B, L, E)
  }
  // (q / sqrt(d)) k^T: scaling the queries (L x d per head) reads and writes far less than
  // scaling the scores (L x S), forward and backward; exact when d is a power of 4 (GPT-2's 64).
  const Tensor scaled_q = heads_q / std::sqrt(double(head_dim));    // (B, H, L, d)
  const Tensor scores = matmul(scaled_q, heads_k.transpose(2, 3));  // (B, H, L, S)

  SoftmaxMask mask{.causal = options.is_causal};
  if (options.key_padding_mask.defined()) {
    mask.keep_mask = options.key_padding_mask.reshape({batch, 1, 1, keys});  // (B, 1, 1, S)
  }
  if (options.attn_mask.defined()) {
    const Tensor attn = options.attn_mask.to(scores.dtype());
    mask.keep_mask = mask.keep_mask.defined() ? mask.keep_mask.to(scores.dtype()) * attn : attn;
  }
  const Tensor weights = masked_softmax(scores, mask);                   // (B, H, L, S)
  const Tensor heads_out = matmul(dropout_->forward(weights), heads_v);  // (B, H, L, d)
  Tensor returned;  // what forward returns with its graph; the member keeps it detached
  if (options.need_weights) returned = options.average_attn_weights ? weights.mean({1}) : weights;
  attention_weights = returned.defined() ? returned.detach() : Tensor();
  return {heads_out.transpose(1, 2).reshape({batch, length, embed_dim}), returned};  // (B, L, E)
}

std::pair<Tensor, Tensor> MultiHeadAttention::forward(const Tensor& query, const Tensor& key,
                                                      const Tensor& value,
                                                      const AttentionOptions& options) {
  if (query.dim() != 3 || key.dim() != 3 || value.dim() != 3 || query.size(2) != embed_dim ||
      key.size(2) != embed_dim || value.size(2) != embed_dim || key.size(0) != query.size(0) ||
      value.size(0) != query.size(0) || value.size(1) != key.size(1)) {
    fail(
        "MultiHeadAttention: expected query (B, L, {0}), key and value (B, S, {0}), got {1}, {2} "
        "and {3}",
        embed_dim, shape_str(query.shape()), shape_str(key.shape()), shape_str(value.shape()));
  }
  // The three projections are row blocks of in_proj_weight.
  auto project = [&](const Tensor& x, int64_t block) {
    const Tensor w = in_proj_weight.narrow(0, block * embed_dim, embed_dim);  // (E, E)
    const Tensor b =
        in_proj_bias.defined() ? in_proj_bias.narrow(0, block * embed_dim, embed_dim) : Tensor();
    return linear(x, w, b);  // (B, T, E)
  };
  const auto [out, weights] = attend(split_heads(project(query, 0)), split_heads(project(key, 1)),
                                     split_heads(project(value, 2)), options);
  return {out_proj->forward(out), weights};
}

Tensor MultiHeadAttention::self_attention(const Tensor& x, const AttentionOptions& options,
                                          KVCache* cache) {
  if (x.dim() != 3 || x.size(2) != embed_dim) {
    fail("MultiHeadAttention: expected x of shape (B, T, {}), got {}", embed_dim,
         shape_str(x.shape()));
  }
  // One product for q, k and v: (B, T, E) @ (E, 3E)
  const Tensor qkv = linear(x, in_proj_weight, in_proj_bias);  // (B, T, 3E)
  const std::vector<Tensor> parts = qkv.chunk(3, 2);           // q, k, v: each (B, T, E)
  const Tensor heads_q = split_heads(parts[0]);                // (B, H, T, d)
  if (cache == nullptr) {
    return out_proj->forward(
        attend(heads_q, split_heads(parts[1]), split_heads(parts[2]), options).first);
  }
  if (grad_enabled()) {
    fail(
        "MultiHeadAttention: a key/value cache is for generation and carries no gradient; run "
        "it under NoGradGuard");
  }
  // Every position so far: (B, H, S_cache + T, d) each
  const auto [heads_k, heads_v] = cache->append(split_heads(parts[1]), split_heads(parts[2]));
  return out_proj->forward(attend(heads_q, heads_k, heads_v, options).first);
}

std::string MultiHeadAttention::extra_repr() const {
  return fmt::format("embed_dim={}, num_heads={}", embed_dim, num_heads);
}

}  // namespace heed::nn
