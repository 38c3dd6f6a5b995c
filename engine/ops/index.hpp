// Indexing with int64 index tensors: index_select, gather and the embedding lookup. Their
// backwards scatter-add the gradient, so repeated indices sum their gradients.
#pragma once

#include <optional>

#include "engine/tensor.hpp"

namespace heed {

// out = x taken at `index` (1-D) along dim: out.size(dim) == index.numel().
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// out[..., i, ...] = x[..., index[..., i, ...], ...] along dim; index has x's shape except at dim.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// Rows of weight (num_embeddings, dim) for every id in `indices` (any shape): (..., dim).
// Rows of weight (num, dim) picked by int64 ids (...) -> (..., dim). Rows looked up by
// padding_idx get no gradient (PyTorch's nn.Embedding padding_idx).
Tensor embedding(const Tensor& weight, const Tensor& indices,
                 std::optional<int64_t> padding_idx = std::nullopt);

}  // namespace heed
