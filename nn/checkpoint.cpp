// Checkpoints: model, optimizer (under "optimizer/") and generator state in one safetensors
// file, checked entry by entry before anything is loaded.
#include "nn/checkpoint.hpp"

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

Metadata read_checkpoint_metadata(const std::filesystem::path& path) {
  return load_safetensors(path).metadata;
}

Metadata load_checkpoint(const std::filesystem::path& path, Module& model, Optimizer* optimizer) {
  SafetensorsFile file = load_safetensors(path);
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
  if (auto found = file.metadata.find(kGeneratorKey); found != file.metadata.end()) {
    default_generator().set_state(found->second);
  }
  return file.metadata;
}

}  // namespace heed::nn
