// GPT-2 checkpoints in Hugging Face's format, read into heed's GPT: a folder with config.json,
// model.safetensors (or shards listed in model.safetensors.index.json) and the tokenizer files.
//
// What changes on the way in:
//   - names lose the "transformer." prefix; the buffers attn.bias and attn.masked_bias (GPT-2's
//     causal mask, which heed computes) are skipped;
//   - GPT-2 stores its projections as Conv1D weights of shape (in, out): each is transposed to
//     heed's Linear layout (out, in), and c_attn becomes the attention's in_proj_weight;
//   - F16 and BF16 tensors become float32;
//   - lm_head.weight is the token embedding when tie_word_embeddings holds (GPT-2's default).
// Only safetensors is read: a folder with only pytorch_model.bin is refused (loading it would
// mean running pickle), with the command that converts it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "examples/gpt/byte_level_bpe.hpp"
#include "examples/gpt/model.hpp"

namespace gpt {

// config.json's GPT-2 fields as heed's GPTConfig; anything heed's model cannot run (another
// activation, n_inner not a multiple of n_embd, scaled or reordered attention) is an error.
GPTConfig gpt2_config_from_json(const std::string& text, const std::string& where);

// Hugging Face's name of one of heed's parameters (without the "transformer." prefix), and
// whether GPT-2 stores it as a Conv1D weight, (in, out): the transpose of heed's Linear layout.
struct Gpt2Name {
  std::string name;
  bool conv1d;
};
// heed's parameter name -> GPT-2's, for every parameter of a GPT of this config; the one table
// that loading and export (export_hf.hpp) both read.
std::map<std::string, Gpt2Name> gpt2_names(const GPTConfig& config);

// The safetensors files holding a folder's weights: model.safetensors, or the shards of
// model.safetensors.index.json (plain names in the folder, each tensor in the shard the index
// names, checked from the headers).
std::vector<std::filesystem::path> hf_weight_files(const std::string& folder);

// Copies Hugging Face GPT-2 tensors into `model` (converted as above). Missing, unexpected or
// misshapen tensors are one error listing them, before anything is copied.
void load_gpt2_tensors(GPT& model, const heed::nn::StateDict& tensors, const std::string& where);

// The same from a folder's files, one tensor at a time: names and shapes are checked from the
// headers first, then each tensor is read, copied into its parameter and let go, so the weights
// are never in memory twice. A file that fails its checksum halfway leaves the model partly
// loaded: the caller drops it (as load_pretrained and train --init-from do, by failing).
void load_gpt2_weights(GPT& model, const std::string& folder);

struct Pretrained {
  GPTConfig config;
  std::shared_ptr<GPT> model;
  ByteLevelBPE tokenizer;
};

// All of the above from one folder.
Pretrained load_pretrained(const std::string& folder);

}  // namespace gpt
