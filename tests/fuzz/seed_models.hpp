// The small model the checkpoint fuzz target loads into, and that make_seeds saves as the seed
// of its corpus: a two-layer GPT of width 8 with AdamW state, so a valid input exercises every
// check a real resume makes.
#pragma once

#include <memory>

#include "examples/gpt/model.hpp"

namespace heed::fuzz {

inline gpt::GPTConfig seed_config() {
  gpt::GPTConfig config;
  config.vocab_size = 5, config.block_size = 4;
  config.n_layer = 2, config.n_head = 2, config.n_embd = 8;
  return config;
}

struct SeedModel {
  std::unique_ptr<gpt::GPT> model = std::make_unique<gpt::GPT>(seed_config());
  std::unique_ptr<nn::AdamW> optimizer =
      std::make_unique<nn::AdamW>(nn::decay_and_no_decay_groups(*model, 1e-3, 0.1),
                                  nn::AdamOptions{.beta1 = 0.9, .beta2 = 0.95});
};

}  // namespace heed::fuzz
