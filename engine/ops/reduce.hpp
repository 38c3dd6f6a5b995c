// Reductions over dims: sum, mean, amax/amin, max/min with indices, argmax/argmin.
#pragma once

#include <utility>
#include <vector>

#include "engine/tensor.hpp"

namespace heed {

// An empty dims list reduces over every dim, as in PyTorch.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// The gradient of amax/amin is shared evenly between tied maxima, as in PyTorch.
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Values and int64 indices of the first max / min along dim; the gradient goes to that index.
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);

// Sums `grad` down to `shape`: the gradient of a tensor that was broadcast up to grad's shape
// (the backward of every broadcasting op ends with it). Differentiable, through the ops it uses.
Tensor sum_to(const Tensor& grad, const Shape& shape);

// True when no element is NaN or +-inf (always for integer and bool tensors), on any device:
// x - x is 0 for every finite x and NaN otherwise, so the sum of x - x is 0 exactly when all are
// finite. Not differentiable; a check, as torch.isfinite(x).all().
bool all_finite(const Tensor& x);

}  // namespace heed
