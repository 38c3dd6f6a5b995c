// PyTorch's default initialisations, so a fresh heed layer starts from the same distribution as
// the PyTorch layer of the same name. All draw from heed's default generator (heed::manual_seed).
#pragma once

#include "engine/heed.hpp"

namespace heed::nn::init {

// Fills t in place with U(-bound, bound).
void uniform_(Tensor& t, double bound);
// Glorot and Bengio's uniform initialisation for a weight matrix t (fan_out, fan_in):
// U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)), as torch.nn.init.xavier_uniform_.
void xavier_uniform_(Tensor& t, double gain = 1.0);

// Fills t in place with N(mean, std^2).
void normal_(Tensor& t, double mean = 0.0, double std = 1.0);

// While one lives (on this thread), the three functions above leave their tensor as it is and
// draw nothing from the generator. For a model whose every parameter is about to be loaded from
// a file, as PyTorch's skip_init and transformers' no_init_weights do: drawing GPT-2's 124M
// random weights took most of a load's time and memory. The parameters then hold whatever their
// memory held until the load fills them, so use it only around a strict, complete load.
class SkipInitGuard {
 public:
  SkipInitGuard();
  ~SkipInitGuard();
  SkipInitGuard(const SkipInitGuard&) = delete;
  SkipInitGuard& operator=(const SkipInitGuard&) = delete;

 private:
  bool previous_;
};
bool init_skipped();

}  // namespace heed::nn::init
