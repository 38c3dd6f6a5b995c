// A GPT-2-style decoder-only transformer (minGPT's shape), built from heed::nn:
//   token embedding + learned position embedding
//   -> n_layer pre-LayerNorm blocks of causal multi-head self-attention and a GELU MLP
//   -> final LayerNorm -> a linear map to vocabulary logits (optionally tied to the embedding)
// Masking is the point: causal masks in training, and in batched generation a keep mask over
// left padding, with position ids that start at 0 at each prompt's first real token.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "examples/common/checks.hpp"
#include "nn/nn.hpp"

namespace gpt {

using heed::Tensor;

// The bounds of every size of a model, shared by the flags (--n-layer ...) and by the configs
// read back from checkpoints, so a file can ask for nothing a flag could not.
namespace limits {
inline constexpr examples::IntRange vocab_size{1, int64_t{1} << 24};
inline constexpr examples::IntRange block_size{1, 65536};
inline constexpr examples::IntRange n_layer{1, 256};
inline constexpr examples::IntRange n_head{1, 256};
inline constexpr examples::IntRange n_embd{1, 16384};
inline constexpr examples::RealRange dropout{0, 1, false, true};
inline constexpr examples::RealRange layer_norm_eps{0, 1, true, false};  // (0, 1]
}  // namespace limits

struct GPTConfig {
  int64_t vocab_size = 0;
  int64_t block_size = 64;  // longest context
  int64_t n_layer = 2, n_head = 4, n_embd = 64;
  double dropout = 0.0;
  bool tie_weights = false;  // lm_head shares the token embedding's matrix
  double layer_norm_eps = 1e-5;
  bool exact_gelu = false;  // GELU's erf form; false: the tanh form (GPT-2's gelu_new)

  // nano: 3 layers, 3 heads, 48 dims; tiny: 2/4/64, block 64; small: 4/4/128, block 128;
  // medium: 6/6/384, block 256. Throws heed::Error for an unknown name.
  static GPTConfig preset(const std::string& name);
  std::string to_json() const;
  // Reads and validates (as validate()) a config saved by to_json; `where` names the file.
  static GPTConfig from_json(const std::string& text, const std::string& where = "checkpoint");
  // Every size within `limits`, n_embd a multiple of n_head; `where` prefixes the errors.
  void validate(const std::string& where) const;
};

// What a forward pass may be given besides the token ids.
struct ForwardOptions {
  Tensor attention_mask = {};  // (B, S_total) 1 = real token, 0 = padding; S_total = cached + T
  Tensor position_ids = {};    // (B, T) int64; default: cached length + 0 .. T-1
  std::vector<heed::nn::KVCache>* caches = nullptr;  // one per layer, for generation
  // Keep every layer's attention weights for attention_weights() (a heatmap); otherwise the
  // blocks use the fused attention, which never forms them.
  bool keep_attention_weights = false;
  // Logits of each row's last position only, (B, 1, vocab): what generation reads after a
  // prompt (transformers' generate() asks the same with logits_to_keep=1). The final layer norm
  // and the output layer then run on one position instead of T; the output layer is GPT-2's
  // largest product (768 x 50,257 weights).
  bool last_position_only = false;
};

class GPT : public heed::nn::Module {
 public:
  explicit GPT(GPTConfig config);
  // ids (B, T) int64 -> logits (B, T, vocab), or (B, 1, vocab) with last_position_only
  Tensor forward(const Tensor& ids, const ForwardOptions& options = {});
  const GPTConfig& config() const { return config_; }
  // The attention weights of every layer from the last forward run with keep_attention_weights,
  // each (B, H, T, S).
  std::vector<Tensor> attention_weights() const;

 private:
  GPTConfig config_;
  std::shared_ptr<heed::nn::Embedding> wte_, wpe_;
  std::shared_ptr<heed::nn::ModuleList<heed::nn::TransformerBlock>> blocks_;  // "h"
  std::shared_ptr<heed::nn::LayerNorm> ln_f_;
  std::shared_ptr<heed::nn::Linear> lm_head_;  // unused (null) when tied
};

}  // namespace gpt
