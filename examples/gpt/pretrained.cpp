// Hugging Face GPT-2 folders into heed's GPT: config.json, the safetensors weights (one file or
// shards) and the tokenizer, each read as untrusted input.
#include "examples/gpt/pretrained.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/error.hpp"
#include "engine/io/json_reader.hpp"
#include "engine/io/safetensors.hpp"

namespace gpt {

using heed::fail;
using heed::printable;
using heed::Shape;
using heed::Tensor;
namespace fs = std::filesystem;

namespace {

// A config field that may be absent (transformers fills in its default), else of one type.
int64_t integer_or(const nlohmann::json& config, const char* key, int64_t fallback,
                   const std::string& where) {
  if (!config.contains(key) || config[key].is_null()) return fallback;
  return heed::json_integer(config, key, where);
}
bool bool_or(const nlohmann::json& config, const char* key, bool fallback,
             const std::string& where) {
  if (!config.contains(key) || config[key].is_null()) return fallback;
  return heed::json_bool(config, key, where);
}

// Joins the first few entries of a list for an error message.
std::string some_of(const std::vector<std::string>& entries) {
  std::string out;
  for (size_t i = 0; i < entries.size() && i < 6; ++i) out += (i ? ", " : "") + entries[i];
  if (entries.size() > 6) out += fmt::format(" and {} more", entries.size() - 6);
  return out;
}

}  // namespace

GPTConfig gpt2_config_from_json(const std::string& text, const std::string& where) {
  const nlohmann::json config = heed::parse_untrusted_json(text, where);
  if (!config.is_object()) fail("{}: expected a JSON object", where);
  if (config.contains("model_type") && config["model_type"] != "gpt2") {
    fail("{}: model_type is {}, expected \"gpt2\"", where,
         heed::describe_json(config["model_type"]));
  }
  GPTConfig c;
  c.vocab_size = integer_or(config, "vocab_size", 50257, where);
  c.n_embd = integer_or(config, "n_embd", 768, where);
  c.n_layer = integer_or(config, "n_layer", 12, where);
  c.n_head = integer_or(config, "n_head", 12, where);
  c.block_size = integer_or(config, "n_positions", integer_or(config, "n_ctx", 1024, where), where);
  c.layer_norm_eps = config.contains("layer_norm_epsilon")
                         ? heed::json_number(config, "layer_norm_epsilon", where)
                         : 1e-5;
  c.tie_weights = bool_or(config, "tie_word_embeddings", true, where);
  c.dropout = 0.0;  // inference and fine-tuning start without dropout; train sets its own
  const std::string activation = config.contains("activation_function")
                                     ? heed::json_string(config, "activation_function", where)
                                     : "gelu_new";
  if (activation == "gelu_new" || activation == "gelu_pytorch_tanh") {
    c.exact_gelu = false;
  } else if (activation == "gelu") {
    c.exact_gelu = true;
  } else {
    fail("{}: activation_function {} is not one heed runs (gelu_new, gelu_pytorch_tanh, gelu)",
         where, printable(activation));
  }
  const int64_t inner = integer_or(config, "n_inner", 4 * c.n_embd, where);
  if (inner != 4 * c.n_embd) {
    fail("{}: n_inner is {}; heed's blocks have an MLP of 4 * n_embd = {}", where, inner,
         4 * c.n_embd);
  }
  for (const char* unsupported : {"scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"}) {
    if (bool_or(config, unsupported, false, where)) {
      fail("{}: {} is set, which heed's attention does not do", where, unsupported);
    }
  }
  if (!bool_or(config, "scale_attn_weights", true, where)) {
    fail("{}: scale_attn_weights is false; heed's attention always scales by 1/sqrt(head dim)",
         where);
  }
  c.validate(where);
  return c;
}

std::vector<fs::path> hf_weight_files(const std::string& folder) {
  const fs::path dir(folder);
  if (!fs::is_directory(dir)) fail("--pretrained: {} is not a folder", folder);
  if (fs::exists(dir / "model.safetensors")) return {dir / "model.safetensors"};
  if (fs::exists(dir / "model.safetensors.index.json")) {
    const std::string where = (dir / "model.safetensors.index.json").string();
    const nlohmann::json index = heed::parse_untrusted_json(
        examples::read_regular_file(where, "model.safetensors.index.json"), where);
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
      fail("{}: expected an object with a weight_map of tensor -> shard file", where);
    }
    std::set<std::string> shards;
    for (const auto& [name, shard] : index["weight_map"].items()) {
      if (!shard.is_string()) {
        fail("{}: the shard of {} is {}, expected a file name", where, printable(name),
             heed::describe_json(shard));
      }
      // A shard is a file in this folder: no path may lead out of it.
      const std::string file = shard.get<std::string>();
      if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..") {
        fail("{}: the shard {} of {} is not a plain file name in the folder", where,
             printable(file), printable(name));
      }
      shards.insert(file);
    }
    // Each tensor in exactly one shard, the one the index names (read from the headers only).
    std::map<std::string, std::string> shard_of;
    for (const std::string& shard : shards) {
      for (const auto& entry : heed::read_safetensors_header(dir / shard).tensors) {
        if (!shard_of.emplace(entry.first, shard).second) {
          fail("{}: the tensor {} is in more than one shard", folder, printable(entry.first));
        }
      }
    }
    for (const auto& [name, shard] : index["weight_map"].items()) {
      if (shard_of.count(name) == 0 || shard_of[name] != shard.get<std::string>()) {
        fail("{}: the index lists {} in {}, which does not hold it", where, printable(name),
             printable(shard.get<std::string>()));
      }
    }
    std::vector<fs::path> files;
    for (const std::string& shard : shards) files.push_back(dir / shard);
    return files;
  }
  if (fs::exists(dir / "pytorch_model.bin")) {
    fail(
        "{}: only pytorch_model.bin is here; heed reads safetensors only (loading a .bin runs "
        "Python's pickle). Convert it once with: python3 -c \"from transformers import "
        "AutoModelForCausalLM as M; M.from_pretrained('{}').save_pretrained('{}', "
        "safe_serialization=True)\"",
        folder, folder, folder);
  }
  fail("{}: no model.safetensors or model.safetensors.index.json here", folder);
}

std::map<std::string, Gpt2Name> gpt2_names(const GPTConfig& c) {
  std::map<std::string, Gpt2Name> names = {{"wte.weight", {"wte.weight", false}},
                                           {"wpe.weight", {"wpe.weight", false}},
                                           {"ln_f.weight", {"ln_f.weight", false}},
                                           {"ln_f.bias", {"ln_f.bias", false}}};
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string h = fmt::format("h.{}.", i);
    for (const char* norm : {"ln_1", "ln_2"}) {
      names[h + norm + ".weight"] = {h + norm + ".weight", false};
      names[h + norm + ".bias"] = {h + norm + ".bias", false};
    }
    names[h + "attn.in_proj_weight"] = {h + "attn.c_attn.weight", true};
    names[h + "attn.in_proj_bias"] = {h + "attn.c_attn.bias", false};
    names[h + "attn.out_proj.weight"] = {h + "attn.c_proj.weight", true};
    names[h + "attn.out_proj.bias"] = {h + "attn.c_proj.bias", false};
    for (const char* layer : {"mlp.c_fc", "mlp.c_proj"}) {
      names[h + layer + ".weight"] = {h + layer + ".weight", true};
      names[h + layer + ".bias"] = {h + layer + ".bias", false};
    }
  }
  if (!c.tie_weights) names["lm_head.weight"] = {"lm_head.weight", false};
  return names;
}

namespace {

// Where one of the file's tensors goes: heed's parameter, and whether it is a Conv1D weight to
// transpose on the way.
struct Destination {
  Tensor parameter;
  bool conv1d;
};

// Checks the file's tensor names and shapes against the model before any data is read: one
// error lists every missing, unexpected and misshapen tensor. Returns the destination of each
// tensor to load, by its full name in the file; buffers and a tied lm_head are left out.
std::map<std::string, Destination> plan_gpt2_load(GPT& model,
                                                  const std::map<std::string, Shape>& file_shapes,
                                                  const std::string& where) {
  const GPTConfig& c = model.config();
  const std::map<std::string, Gpt2Name> wanted = gpt2_names(c);
  // The file's names without "transformer." -> the full name, buffers skipped.
  std::map<std::string, std::string> full_name_of;
  for (const auto& entry : file_shapes) {
    std::string name = entry.first;
    if (name.rfind("transformer.", 0) == 0) name = name.substr(12);
    const bool buffer =
        name.size() > 9 && (name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias"));
    if (buffer || (c.tie_weights && name == "lm_head.weight")) continue;
    if (!full_name_of.emplace(name, entry.first).second) {
      fail("{}: the tensor {} is there both with and without the \"transformer.\" prefix", where,
           printable(name));
    }
  }
  std::map<std::string, Destination> plan;
  std::set<std::string> used;
  std::vector<std::string> missing, unexpected, misshapen;
  for (const auto& [heed_name, parameter] : model.named_parameters()) {
    const auto rule = wanted.find(heed_name);
    if (rule == wanted.end())
      fail("{}: heed's GPT has a parameter {} with no GPT-2 name", where, heed_name);
    const Gpt2Name& hf_name = rule->second;
    const auto found = full_name_of.find(hf_name.name);
    if (found == full_name_of.end()) {
      missing.push_back(printable(hf_name.name));
      continue;
    }
    used.insert(hf_name.name);
    const Shape& shape = file_shapes.at(found->second);
    // Conv1D's (in, out) is the transpose of Linear's (out, in).
    const Shape expected = hf_name.conv1d ? parameter.t().shape() : parameter.shape();
    if (shape != expected) {
      misshapen.push_back(fmt::format("{} {} (expected {})", printable(hf_name.name),
                                      heed::shape_str(shape), heed::shape_str(expected)));
      continue;
    }
    plan[found->second] = {parameter, hf_name.conv1d};
  }
  for (const auto& entry : full_name_of) {
    if (used.count(entry.first) == 0) unexpected.push_back(printable(entry.first));
  }
  if (!missing.empty() || !unexpected.empty() || !misshapen.empty()) {
    std::string problems;
    if (!missing.empty()) problems += fmt::format("; missing: {}", some_of(missing));
    if (!unexpected.empty()) problems += fmt::format("; unexpected: {}", some_of(unexpected));
    if (!misshapen.empty()) problems += fmt::format("; wrong shape: {}", some_of(misshapen));
    fail("{}: the weights do not fit a GPT-2 of {} layers, {} wide, vocabulary {}{}", where,
         c.n_layer, c.n_embd, c.vocab_size, problems);
  }
  return plan;
}

// Copies one of the file's tensors into its parameter, as float32 in heed's layout.
void copy_into(const Destination& destination, const Tensor& value) {
  heed::NoGradGuard no_grad;
  Tensor target = destination.parameter;  // a handle to the same storage
  target.copy_((destination.conv1d ? value.t() : value).to(target.dtype()));
}

}  // namespace

void load_gpt2_tensors(GPT& model, const heed::nn::StateDict& hf, const std::string& where) {
  std::map<std::string, Shape> shapes;
  for (const auto& [name, tensor] : hf) shapes[name] = tensor.shape();
  const std::map<std::string, Destination> plan = plan_gpt2_load(model, shapes, where);
  for (const auto& [name, destination] : plan) copy_into(destination, hf.at(name));
}

void load_gpt2_weights(GPT& model, const std::string& folder) {
  const std::vector<fs::path> files = hf_weight_files(folder);
  std::map<std::string, Shape> shapes;
  for (const fs::path& file : files) {
    for (const auto& entry : heed::read_safetensors_header(file).tensors) {
      shapes[entry.first] = entry.second.shape;
    }
  }
  const std::map<std::string, Destination> plan = plan_gpt2_load(model, shapes, folder);
  // The data is read in a second pass over the files: what arrives must still be what the
  // headers promised (a file replaced in between is an error, not a broadcast or a gap).
  size_t filled = 0;
  for (const fs::path& file : files) {
    heed::for_each_safetensor(file, [&](const std::string& name, const Tensor& value) {
      const auto destination = plan.find(name);
      if (destination == plan.end()) return;
      if (value.shape() != shapes.at(name)) {
        fail("{}: the tensor {} changed while the folder was read", folder, printable(name));
      }
      copy_into(destination->second, value);
      ++filled;
    });
  }
  if (filled != plan.size()) {
    fail("{}: {} of {} tensors were read (did a file change while it was read?)", folder, filled,
         plan.size());
  }
}

Pretrained load_pretrained(const std::string& folder) {
  const fs::path dir(folder);
  if (!fs::is_directory(dir)) fail("--pretrained: {} is not a folder", folder);
  const std::string config_path = (dir / "config.json").string();
  if (!fs::exists(config_path)) fail("--pretrained: {} has no config.json", folder);
  const GPTConfig config =
      gpt2_config_from_json(examples::read_regular_file(config_path, "config.json"), config_path);
  ByteLevelBPE tokenizer = ByteLevelBPE::from_folder(folder);
  tokenizer.check_fits(config.vocab_size, folder);
  std::shared_ptr<GPT> model;
  {
    const heed::nn::init::SkipInitGuard skip;  // every weight comes from the file
    model = std::make_shared<GPT>(config);
  }
  load_gpt2_weights(*model, folder);
  heed::empty_cpu_cache();  // the file's tensors were copied one by one: give their blocks back
  model->eval();
  return Pretrained{config, std::move(model), std::move(tokenizer)};
}

}  // namespace gpt
