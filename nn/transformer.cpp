// The pre-LayerNorm transformer block of GPT-2: attention and an MLP, each in a residual branch.
#include "nn/transformer.hpp"

namespace heed::nn {

namespace {

// Holds the MLP's two layers so their names read mlp.c_fc and mlp.c_proj, as in GPT-2.
class MlpNames : public Module {
 public:
  MlpNames(std::shared_ptr<Linear> fc, std::shared_ptr<Linear> proj) : Module("MLP") {
    register_module("c_fc", std::move(fc));
    register_module("c_proj", std::move(proj));
  }
};

}  // namespace

TransformerBlock::TransformerBlock(int64_t embed_dim, int64_t num_heads,
                                   TransformerBlockOptions opts)
    : Module("TransformerBlock"), options(std::move(opts)) {
  const int64_t hidden = options.mlp_ratio * embed_dim;
  ln_1 =
      register_module("ln_1", std::make_shared<LayerNorm>(Shape{embed_dim}, options.layer_norm_eps,
                                                          true, options.bias, options.dtype));
  attn = register_module("attn",
                         std::make_shared<MultiHeadAttention>(embed_dim, num_heads, options.dropout,
                                                              options.bias, options.dtype));
  ln_2 =
      register_module("ln_2", std::make_shared<LayerNorm>(Shape{embed_dim}, options.layer_norm_eps,
                                                          true, options.bias, options.dtype));
  c_fc = std::make_shared<Linear>(embed_dim, hidden, options.bias, options.dtype);
  c_proj = std::make_shared<Linear>(hidden, embed_dim, options.bias, options.dtype);
  register_module("mlp", std::make_shared<MlpNames>(c_fc, c_proj));
  dropout = register_module("dropout", std::make_shared<Dropout>(options.dropout));
}

Tensor TransformerBlock::forward(const Tensor& x, const AttentionOptions& attention,
                                 KVCache* cache) {
  const Tensor attended = attn->self_attention(ln_1->forward(x), attention, cache);  // (B, T, E)
  const Tensor h = x + dropout->forward(attended);
  const Tensor inner =
      gelu(c_fc->forward(ln_2->forward(h)), options.gelu_approximate);  // (B, T, 4E)
  return h + dropout->forward(c_proj->forward(inner));                  // (B, T, E)
}

}  // namespace heed::nn
