// Zeroes each element with probability p while training and scales the rest by 1 / (1 - p);
// the identity in eval mode. PyTorch's nn.Dropout.
#pragma once

#include "nn/module.hpp"

namespace heed::nn {

class Dropout : public UnaryModule {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override { return dropout(x, p, is_training()); }

  double p;

 protected:
  std::string extra_repr() const override { return fmt::format("p={}", p); }
};

}  // namespace heed::nn
