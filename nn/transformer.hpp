// A pre-LayerNorm transformer block (GPT-2's):
//   x = x + dropout(attn(ln_1(x)))          causal or masked self-attention
//   x = x + dropout(mlp(ln_2(x)))           mlp = c_proj(gelu(c_fc(x))), 4x wider inside
// Normalising before each sublayer keeps the residual path an identity, which is what lets
// deep stacks train without warmup tricks.
#pragma once

#include <memory>

#include "nn/layer_norm.hpp"
#include "nn/multi_head_attention.hpp"

namespace heed::nn {

struct TransformerBlockOptions {
  int64_t mlp_ratio = 4;
  double dropout = 0.0;
  bool bias = true;
  std::string gelu_approximate = "tanh";  // GPT-2's; "none" for the exact erf form
  double layer_norm_eps = 1e-5;           // GPT-2's layer_norm_epsilon
  DType dtype = kFloat32;
};

class TransformerBlock : public Module {
 public:
  TransformerBlock(int64_t embed_dim, int64_t num_heads, TransformerBlockOptions options = {});
  // x (B, T, E) -> (B, T, E). With a cache, x holds only the new positions (see KVCache).
  Tensor forward(const Tensor& x, const AttentionOptions& attention = {.is_causal = true},
                 KVCache* cache = nullptr);
  Tensor operator()(const Tensor& x, const AttentionOptions& attention = {.is_causal = true},
                    KVCache* cache = nullptr) {
    return forward(x, attention, cache);
  }

  std::shared_ptr<LayerNorm> ln_1, ln_2;
  std::shared_ptr<MultiHeadAttention> attn;
  std::shared_ptr<Linear> c_fc, c_proj;  // registered as mlp.c_fc / mlp.c_proj
  std::shared_ptr<Dropout> dropout;
  TransformerBlockOptions options;
};

}  // namespace heed::nn
