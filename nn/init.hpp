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

}  // namespace heed::nn::init
