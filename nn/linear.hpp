// y = x W^T + b, over the last dim of x. PyTorch's nn.Linear: weight (out, in), bias (out), both
// initialised U(-1/sqrt(in), 1/sqrt(in)).
#pragma once

#include "nn/module.hpp"

namespace heed::nn {

// x (..., in) W^T (in, out) + b: every leading dim folded into one matrix product.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

class Linear : public UnaryModule {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, DType dtype = kFloat32);
  Tensor forward(const Tensor& x) override;  // (..., in) -> (..., out)

  int64_t in_features, out_features;
  Tensor weight;  // (out, in)
  Tensor bias;    // (out), undefined when bias = false

 protected:
  std::string extra_repr() const override;
};

}  // namespace heed::nn
