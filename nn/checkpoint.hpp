// Training checkpoints: one safetensors file holding the model's state_dict under its own names
// (so PyTorch's load_state_dict reads it after dropping the other entries), the optimizer's
// state under "optimizer/...", and in the metadata the caller's strings (config, vocabulary,
// step) plus the default generator's state, so a resumed run draws the same dropout masks and
// batches as the uninterrupted one.
//
// Saving is atomic (see save_safetensors). Loading checks the file, then the model's entries,
// then the optimizer's, each before changing it: a file of another architecture names the
// missing, unexpected and mis-shaped entries and leaves the model as it was.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "nn/module.hpp"
#include "nn/optim.hpp"

namespace heed::nn {

using Metadata = std::map<std::string, std::string>;

void save_checkpoint(const std::filesystem::path& path, const Module& model,
                     const Optimizer* optimizer = nullptr, const Metadata& metadata = {});

// Loads the model (strictly), the optimizer if given, and the default generator's state; returns
// the metadata. A checkpoint without optimizer state cannot restore an optimizer: that is an error.
Metadata load_checkpoint(const std::filesystem::path& path, Module& model,
                         Optimizer* optimizer = nullptr);

// Only the metadata (config, vocabulary), to build the model before loading its weights.
Metadata read_checkpoint_metadata(const std::filesystem::path& path);

}  // namespace heed::nn
