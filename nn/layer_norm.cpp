// The LayerNorm module: the engine's fused layer_norm with PyTorch's weight and bias.
#include "nn/layer_norm.hpp"

#include <fmt/ranges.h>

namespace heed::nn {

LayerNorm::LayerNorm(Shape shape, double epsilon, bool elementwise_affine, bool with_bias,
                     DType dtype)
    : UnaryModule("LayerNorm"), normalized_shape(std::move(shape)), eps(epsilon) {
  if (normalized_shape.empty()) fail("LayerNorm: normalized_shape must not be empty");
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(normalized_shape, {dtype}));
    if (with_bias) bias = register_parameter("bias", zeros(normalized_shape, {dtype}));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  return layer_norm(x, normalized_shape, weight, bias, eps);
}

std::string LayerNorm::extra_repr() const {
  return fmt::format("({},), eps={}, elementwise_affine={}", fmt::join(normalized_shape, ", "), eps,
                     weight.defined() ? "True" : "False");
}

}  // namespace heed::nn
