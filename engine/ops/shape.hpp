// Shape ops: views that share storage (methods on Tensor, see tensor.hpp), and copies that join
// or split tensors. Each records how to route the gradient back to the original shape.
#pragma once

#include <vector>

#include "engine/tensor.hpp"

namespace heed {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor movedim(const Tensor& x, int64_t source, int64_t destination);

// The slices of x along dim, each with that dim removed: what a recurrent layer reads one time
// step at a time. Unlike calling select() once per step, the backward costs one buffer of x's
// size in all, not one per slice.
std::vector<Tensor> unbind(const Tensor& x, int64_t dim = 0);

}  // namespace heed
