// Indexing with int64 index tensors: index_select, gather and the embedding lookup. Their
// backwards scatter-add the gradient, so repeated indices sum their gradients.
#pragma once

#include "engine/tensor.hpp"

namespace heed {

// out = x taken at `index` (1-D) along dim: out.size(dim) == index.numel().
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// out[..., i, ...] = x[..., index[..., i, ...], ...] along dim; index has x's shape except at dim.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// Rows of weight (num_embeddings, dim) for every id in `indices` (any shape): (..., dim).
Tensor embedding(const Tensor& weight, const Tensor& indices);

}  // namespace heed
