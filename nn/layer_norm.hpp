// Normalises the last dims to zero mean and unit variance, then scales and shifts:
// y = (x - mean) / sqrt(var + eps) * weight + bias. PyTorch's nn.LayerNorm: weight = 1, bias = 0.
#pragma once

#include "nn/module.hpp"

namespace heed::nn {

class LayerNorm : public UnaryModule {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true,
                     bool bias = true, DType dtype = kFloat32);
  Tensor forward(const Tensor& x) override;

  Shape normalized_shape;
  double eps;
  Tensor weight, bias;  // normalized_shape each; undefined without elementwise_affine / bias

 protected:
  std::string extra_repr() const override;
};

}  // namespace heed::nn
