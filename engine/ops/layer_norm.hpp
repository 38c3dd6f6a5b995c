// Layer normalisation over the trailing dims.
#pragma once

#include "engine/tensor.hpp"

namespace heed {

// y = (x - mean) / sqrt(var + eps) * weight + bias over the last normalized_shape dims, with the
// biased variance, as torch.nn.functional.layer_norm. weight and bias may be undefined.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);

// The same written with mean, sub, mul, sqrt...: the unfused reference for tests.
Tensor layer_norm_composite(const Tensor& x, const Shape& normalized_shape,
                            const Tensor& weight = {}, const Tensor& bias = {}, double eps = 1e-5);

}  // namespace heed
