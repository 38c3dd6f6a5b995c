// Writes a heed checkpoint and heed's outputs for fixed inputs, for check_interop.py to load into
// the matching PyTorch modules. Usage: interop_export DIR
#include <cstdio>

#include "nn/nn.hpp"

using namespace heed;

namespace {

// The modules PyTorch must be able to take over, under the names check_interop.py expects.
struct Exported : nn::Module {
  Exported() : nn::Module("Exported") {
    gru = register_module(
        "gru",
        std::make_shared<nn::GRU>(
            4, 5, nn::RecurrentOptions{.num_layers = 2, .bidirectional = true, .dtype = kFloat64}));
    lstm = register_module("lstm",
                           std::make_shared<nn::LSTM>(
                               4, 5, nn::RecurrentOptions{.batch_first = true, .dtype = kFloat64}));
    block = register_module("block", std::make_shared<nn::TransformerBlock>(
                                         8, 2, nn::TransformerBlockOptions{.dtype = kFloat64}));
  }
  std::shared_ptr<nn::GRU> gru;
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::TransformerBlock> block;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: interop_export DIR\n");
    return 2;
  }
  try {
    const std::filesystem::path dir = argv[1];
    manual_seed(21);
    Exported model;
    model.eval();
    const Tensor sequence = randn({6, 3, 4}, {kFloat64});  // (T, B, in)
    const Tensor batch_first = randn({3, 6, 4}, {kFloat64});
    const Tensor tokens = randn({2, 5, 8}, {kFloat64});
    NoGradGuard no_grad;
    auto [gru_out, gru_h] = model.gru->forward(sequence);
    auto [lstm_out, lstm_state] = model.lstm->forward(batch_first);
    const Tensor block_out = model.block->forward(tokens);  // causal
    nn::AdamW optimizer({{model.parameters(), 1e-3}});      // its state travels in the same file
    nn::save_checkpoint(dir / "model.safetensors", model, &optimizer, {{"note", "interop"}});
    save_safetensors(dir / "io.safetensors", {{"sequence", sequence},
                                              {"batch_first", batch_first},
                                              {"tokens", tokens},
                                              {"gru_out", gru_out},
                                              {"gru_h", gru_h},
                                              {"lstm_out", lstm_out},
                                              {"lstm_h", lstm_state.h},
                                              {"lstm_c", lstm_state.c},
                                              {"block_out", block_out}});
  } catch (const Error& e) {
    std::fprintf(stderr, "interop_export: %s\n", e.what());
    return 2;
  }
  return 0;
}
