// heed's GPT written as a Hugging Face GPT-2 folder, the inverse of pretrained.hpp's loader:
// transformers' GPT2LMHeadModel.from_pretrained(folder) loads it and gives the same logits.
//
//   config.json          model_type gpt2, the sizes, layer_norm_epsilon, activation_function
//                        (gelu_new for heed's tanh GELU, gelu for the exact one), tied or not
//   model.safetensors    "transformer."-prefixed names; Linear weights (out, in) transposed back
//                        to GPT-2's Conv1D layout (in, out); lm_head.weight only when untied;
//                        {"format": "pt"} in the metadata, as transformers asks
//   vocab.json, merges.txt, tokenizer_config.json
//                        when the model's tokens are GPT-2's byte-level BPE (a fine-tuned
//                        GPT-2); a character-level model has no tokenizer transformers can read
//
// Each file is written atomically (temp file, then rename): a folder never holds half a file.
#pragma once

#include <string>

#include "examples/gpt/byte_level_bpe.hpp"
#include "examples/gpt/model.hpp"

namespace gpt {

// Writes `model` (and `tokenizer`, unless null) into `folder`, created if it does not exist.
void export_hf(const GPT& model, const ByteLevelBPE* tokenizer, const std::string& folder);

}  // namespace gpt
