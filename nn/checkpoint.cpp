// Checkpoints: model, optimizer (under "optimizer/") and generator state in one safetensors
// file, checked entry by entry before anything is loaded.
#include "nn/checkpoint.hpp"

#include <optional>

namespace heed::nn {

namespace {

constexpr const char* kOptimizerPrefix = "optimizer/";
constexpr const char* kFormatKey = "heed.format";
constexpr const char* kFormat = "heed-checkpoint-1";
constexpr const char* kGeneratorKey = "heed.generator_state";

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Module& model,
                     const Optimizer* optimizer, const Metadata& metadata) {
  std::map<std::string, Tensor> tensors = model.state_dict();
  if (optimizer != nullptr) {
    for (const auto& [name, value] : optimizer->state_dict()) {
      tensors.emplace(kOptimizerPrefix + name, value);
    }
  }
  Metadata all = metadata;
  all[kFormatKey] = kFormat;
  all[kGeneratorKey] = default_generator().state();
  save_safetensors(path, tensors, all);
}

namespace {

// A file that says it is a heed checkpoint must be one of the format this code reads. A
// safetensors file without the key (a state_dict saved from PyTorch) is read as weights alone.
void check_format(const Metadata& metadata, const std::filesystem::path& path) {
  const auto found = metadata.find(kFormatKey);
  if (found != metadata.end() && found->second != kFormat) {
    fail("{}: {} is '{}', but this heed reads '{}' (a checkpoint from another version?)",
         path.string(), kFormatKey, found->second.substr(0, 64), kFormat);
  }
}

}  // namespace

Metadata read_checkpoint_metadata(const std::filesystem::path& path) {
  Metadata metadata = load_safetensors(path).metadata;
  check_format(metadata, path);
  return metadata;
}

Metadata load_checkpoint(const std::filesystem::path& path, Module& model, Optimizer* optimizer) {
  SafetensorsFile file = load_safetensors(path);
  check_format(file.metadata, path);
  // The generator's state is parsed first, so a bad one fails before anything is changed.
  std::optional<Generator> generator;
  if (auto found = file.metadata.find(kGeneratorKey); found != file.metadata.end()) {
    generator.emplace(0);
    generator->set_state(found->second);
  }
  StateDict weights, optimizer_state;
  const std::string prefix = kOptimizerPrefix;
  for (auto& [name, value] : file.tensors) {
    if (name.rfind(prefix, 0) == 0) {
      optimizer_state.emplace(name.substr(prefix.size()), value);
    } else {
      weights.emplace(name, value);
    }
  }
  if (optimizer != nullptr && optimizer_state.empty()) {
    fail("load_checkpoint: {} holds no optimizer state (was it saved without the optimizer?)",
         path.string());
  }
  model.load_state_dict(weights);
  if (optimizer != nullptr) optimizer->load_state_dict(optimizer_state);
  if (generator) default_generator() = *generator;
  return file.metadata;
}

}  // namespace heed::nn
