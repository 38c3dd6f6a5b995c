#include "examples/gpt/model.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/io/json_reader.hpp"

namespace gpt {

using namespace heed;

GPTConfig GPTConfig::preset(const std::string& name) {
  GPTConfig c;
  if (name == "nano") {
    c.n_layer = 3, c.n_head = 3, c.n_embd = 48, c.block_size = 64;
  } else if (name == "tiny") {
    c.n_layer = 2, c.n_head = 4, c.n_embd = 64, c.block_size = 64;
  } else if (name == "small") {
    c.n_layer = 4, c.n_head = 4, c.n_embd = 128, c.block_size = 128;
  } else if (name == "medium") {
    c.n_layer = 6, c.n_head = 6, c.n_embd = 384, c.block_size = 256;
  } else {
    fail("unknown preset '{}' (expected nano, tiny, small or medium)", name);
  }
  return c;
}

std::string GPTConfig::to_json() const {
  return nlohmann::json{{"vocab_size", vocab_size},   {"block_size", block_size},
                        {"n_layer", n_layer},         {"n_head", n_head},
                        {"n_embd", n_embd},           {"dropout", dropout},
                        {"tie_weights", tie_weights}, {"layer_norm_eps", layer_norm_eps},
                        {"exact_gelu", exact_gelu}}
      .dump();
}

GPTConfig GPTConfig::from_json(const std::string& text, const std::string& where) {
  const std::string what = where + ": the model config";
  const nlohmann::json j = heed::parse_untrusted_json(text, what);
  GPTConfig c;
  c.vocab_size = heed::json_integer(j, "vocab_size", what);
  c.block_size = heed::json_integer(j, "block_size", what);
  c.n_layer = heed::json_integer(j, "n_layer", what);
  c.n_head = heed::json_integer(j, "n_head", what);
  c.n_embd = heed::json_integer(j, "n_embd", what);
  c.dropout = heed::json_number(j, "dropout", what);
  c.tie_weights = heed::json_bool(j, "tie_weights", what);
  // Checkpoints written before these two existed had GPT-2's values.
  if (j.contains("layer_norm_eps")) c.layer_norm_eps = heed::json_number(j, "layer_norm_eps", what);
  if (j.contains("exact_gelu")) c.exact_gelu = heed::json_bool(j, "exact_gelu", what);
  c.validate(what);
  return c;
}

void GPTConfig::validate(const std::string& where) const {
  using examples::check_field;
  check_field(where, "vocab_size", vocab_size, limits::vocab_size);
  check_field(where, "block_size", block_size, limits::block_size);
  check_field(where, "n_layer", n_layer, limits::n_layer);
  check_field(where, "n_head", n_head, limits::n_head);
  check_field(where, "n_embd", n_embd, limits::n_embd);
  check_field(where, "dropout", dropout, limits::dropout);
  check_field(where, "layer_norm_eps", layer_norm_eps, limits::layer_norm_eps);
  if (n_embd % n_head != 0) {
    fail("{}: n_embd ({}) must be a multiple of n_head ({})", where, n_embd, n_head);
  }
}

GPT::GPT(GPTConfig config) : nn::Module("GPT"), config_(config) {
  const GPTConfig& c = config_;
  c.validate("GPT");
  wte_ = register_module("wte", std::make_shared<nn::Embedding>(c.vocab_size, c.n_embd));
  wpe_ = register_module("wpe", std::make_shared<nn::Embedding>(c.block_size, c.n_embd));
  blocks_ = register_module("h", std::make_shared<nn::ModuleList<nn::TransformerBlock>>());
  for (int64_t i = 0; i < c.n_layer; ++i) {
    blocks_->push_back(std::make_shared<nn::TransformerBlock>(
        c.n_embd, c.n_head,
        nn::TransformerBlockOptions{.dropout = c.dropout,
                                    .gelu_approximate = c.exact_gelu ? "none" : "tanh",
                                    .layer_norm_eps = c.layer_norm_eps}));
  }
  ln_f_ =
      register_module("ln_f", std::make_shared<nn::LayerNorm>(Shape{c.n_embd}, c.layer_norm_eps));
  if (!c.tie_weights) {
    lm_head_ =
        register_module("lm_head", std::make_shared<nn::Linear>(c.n_embd, c.vocab_size, false));
  }
  // GPT-2 initialisation: N(0, 0.02) for every matrix, zero biases, and the two projections
  // that write into the residual stream scaled by 1/sqrt(2 n_layer), so the stream's variance
  // does not grow with depth.
  NoGradGuard no_grad;
  for (auto& [name, p] : named_parameters()) {
    if (p.dim() >= 2) nn::init::normal_(p, 0.0, 0.02);
  }
  const double residual_std = 0.02 / std::sqrt(2.0 * double(c.n_layer));
  for (const auto& block : *blocks_) {
    for (auto& [name, p] : block->named_parameters()) {
      if (p.dim() >= 2) nn::init::normal_(p, 0.0, 0.02);
      if (p.dim() == 1 && name.find("ln_") == std::string::npos) p.zero_();
    }
    nn::init::normal_(block->attn->out_proj->weight, 0.0, residual_std);
    nn::init::normal_(block->c_proj->weight, 0.0, residual_std);
  }
}

Tensor GPT::forward(const Tensor& ids, const ForwardOptions& options) {
  if (ids.dim() != 2 || ids.dtype() != kInt64) {
    fail("GPT: expected int64 token ids of shape (B, T), got {} {}", dtype_name(ids.dtype()),
         shape_str(ids.shape()));
  }
  const int64_t batch = ids.size(0), steps = ids.size(1);
  if (options.last_position_only && steps == 0) {
    fail("GPT: last_position_only needs at least one position, got ids of shape {}",
         shape_str(ids.shape()));
  }
  const int64_t cached =
      options.caches && !options.caches->empty() ? (*options.caches)[0].length() : 0;
  if (cached + steps > config_.block_size) {
    fail("GPT: {} positions exceed the block size {} (the longest context this model has)",
         cached + steps, config_.block_size);
  }
  Tensor positions = options.position_ids;
  if (!positions.defined()) {
    positions = arange(double(cached), double(cached + steps))
                    .to(ids.device())
                    .unsqueeze(0)
                    .expand({batch, steps});
  }
  Tensor x = wte_->forward(ids) + wpe_->forward(positions);  // (B, T, C)
  if (options.caches != nullptr && options.caches->empty()) options.caches->resize(blocks_->size());
  const nn::AttentionOptions attention{.key_padding_mask = options.attention_mask,
                                       .is_causal = true,
                                       .need_weights = options.keep_attention_weights,
                                       .average_attn_weights = false};
  for (size_t i = 0; i < blocks_->size(); ++i) {
    x = (*blocks_)[i].forward(x, attention, options.caches ? &(*options.caches)[i] : nullptr);
  }
  if (options.last_position_only) x = x.narrow(1, steps - 1, 1);         // (B, 1, C)
  x = ln_f_->forward(x);                                                 // (B, T or 1, C)
  return lm_head_ ? lm_head_->forward(x) : nn::linear(x, wte_->weight);  // (B, T or 1, V)
}

std::vector<Tensor> GPT::attention_weights() const {
  std::vector<Tensor> out;
  for (const auto& block : *blocks_) out.push_back(block->attn->attention_weights);
  return out;
}

}  // namespace gpt
