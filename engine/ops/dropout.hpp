// Dropout: zero each element with probability p during training, scale the rest by 1 / (1 - p).
#pragma once

#include "engine/generator.hpp"
#include "engine/tensor.hpp"

namespace heed {

// Identity when !training or p == 0. Draws its mask from `generator` (the default one if null),
// so a seeded generator makes the mask reproducible.
Tensor dropout(const Tensor& x, double p, bool training, Generator* generator = nullptr);

}  // namespace heed
