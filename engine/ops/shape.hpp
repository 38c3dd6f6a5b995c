// Shape ops: views that share storage (methods on Tensor, see tensor.hpp), and copies that join
// or split tensors. Each records how to route the gradient back to the original shape.
#pragma once

#include <vector>

#include "engine/tensor.hpp"

namespace heed {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor movedim(const Tensor& x, int64_t source, int64_t destination);

}  // namespace heed
