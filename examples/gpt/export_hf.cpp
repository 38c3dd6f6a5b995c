// heed's GPT as a Hugging Face GPT-2 folder: config.json, model.safetensors and the tokenizer.
#include "examples/gpt/export_hf.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/error.hpp"
#include "engine/io/safetensors.hpp"
#include "examples/common/checks.hpp"
#include "examples/gpt/pretrained.hpp"

namespace gpt {

namespace fs = std::filesystem;

namespace {

std::string gpt2_config_json(const GPTConfig& c) {
  const nlohmann::ordered_json config = {
      {"architectures", {"GPT2LMHeadModel"}},
      {"model_type", "gpt2"},
      {"vocab_size", c.vocab_size},
      {"n_positions", c.block_size},
      {"n_ctx", c.block_size},
      {"n_embd", c.n_embd},
      {"n_layer", c.n_layer},
      {"n_head", c.n_head},
      {"n_inner", nullptr},  // 4 * n_embd, as heed's blocks have
      {"activation_function", c.exact_gelu ? "gelu" : "gelu_new"},
      {"layer_norm_epsilon", c.layer_norm_eps},
      {"resid_pdrop", c.dropout},
      {"embd_pdrop", c.dropout},
      {"attn_pdrop", c.dropout},
      {"tie_word_embeddings", c.tie_weights},
      {"scale_attn_weights", true},
      {"bos_token_id", nullptr},
      {"eos_token_id", nullptr}};
  return config.dump(2) + "\n";
}

// tokenizer_config.json: GPT-2's tokenizer class, and the added tokens by id (which heed's own
// loader reads too when there is no tokenizer.json).
std::string tokenizer_config_json(const ByteLevelBPE& tokenizer, int64_t max_length) {
  nlohmann::ordered_json config = {{"tokenizer_class", "GPT2Tokenizer"},
                                   {"add_prefix_space", false},
                                   {"errors", "replace"},
                                   {"model_max_length", max_length}};
  nlohmann::ordered_json added = nlohmann::ordered_json::object();
  for (const auto& [content, id] : tokenizer.added_tokens()) {
    added[std::to_string(id)] = {{"content", content}, {"lstrip", false},      {"normalized", true},
                                 {"rstrip", false},    {"single_word", false}, {"special", true}};
  }
  config["added_tokens_decoder"] = added;
  if (tokenizer.added_token_id("<|endoftext|>") >= 0) {
    for (const char* role : {"bos_token", "eos_token", "unk_token"}) config[role] = "<|endoftext|>";
  }
  return config.dump(2) + "\n";
}

}  // namespace

void export_hf(const GPT& model, const ByteLevelBPE* tokenizer, const std::string& folder) {
  examples::check_output_directory(folder, "--hf");
  const fs::path dir(folder);
  // Tokenizer files of another model would be read beside the exported weights: transformers
  // prefers a tokenizer.json to the vocab.json and merges.txt written here, and a model without
  // a tokenizer must not find one. Such a folder is refused rather than left to load the wrong
  // tokenizer.
  std::vector<const char*> foreign = {"tokenizer.json"};
  if (tokenizer == nullptr) {
    foreign.insert(foreign.end(), {"vocab.json", "merges.txt", "tokenizer_config.json",
                                   "special_tokens_map.json", "added_tokens.json"});
  }
  for (const char* stale : foreign) {
    if (fs::exists(dir / stale)) {
      heed::fail(
          "--hf: {} already holds {}, which transformers would load as this model's tokenizer; "
          "remove it or choose another folder",
          folder, stale);
    }
  }
  if (fs::exists(dir)) {  // each file it writes must be writable (not a directory or a pipe)
    for (const char* file : {"model.safetensors", "config.json", "vocab.json", "merges.txt",
                             "tokenizer_config.json"}) {
      examples::check_output_file((dir / file).string(), "--hf");
    }
  }
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) heed::fail("--hf: cannot create the folder {}: {}", folder, error.message());
  const GPTConfig& c = model.config();
  if (tokenizer != nullptr) tokenizer->check_fits(c.vocab_size, "export");

  const std::map<std::string, Gpt2Name> names = gpt2_names(c);
  std::map<std::string, heed::Tensor> tensors;
  for (const auto& [heed_name, parameter] : model.named_parameters()) {
    const auto name = names.find(heed_name);
    if (name == names.end()) {
      heed::fail("export: heed's GPT has a parameter {} with no GPT-2 name", heed_name);
    }
    const heed::Tensor value = parameter.detach().to(heed::kCPU);  // (out, in) for a Linear
    const std::string prefix = name->second.name == "lm_head.weight" ? "" : "transformer.";
    // Conv1D's (in, out): the transpose, laid out contiguously by the writer.
    tensors[prefix + name->second.name] = name->second.conv1d ? value.t() : value;
  }
  heed::save_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
  examples::write_file_atomically((dir / "config.json").string(), gpt2_config_json(c), "--hf");
  if (tokenizer != nullptr) {
    examples::write_file_atomically((dir / "vocab.json").string(), tokenizer->vocab_json(), "--hf");
    examples::write_file_atomically((dir / "merges.txt").string(), tokenizer->merges_txt(), "--hf");
    examples::write_file_atomically((dir / "tokenizer_config.json").string(),
                                    tokenizer_config_json(*tokenizer, c.block_size), "--hf");
  }
}

}  // namespace gpt
