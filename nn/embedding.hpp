// A lookup table of num_embeddings vectors: ids (...) -> vectors (..., dim). PyTorch's
// nn.Embedding: weight (num, dim) ~ N(0, 1); the padding_idx row starts at zero and never
// receives a gradient.
#pragma once

#include <optional>

#include "nn/module.hpp"

namespace heed::nn {

class Embedding : public UnaryModule {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim,
            std::optional<int64_t> padding_idx = std::nullopt, DType dtype = kFloat32);
  Tensor forward(const Tensor& ids) override;  // int64 (...) -> (..., dim)

  int64_t num_embeddings, embedding_dim;
  std::optional<int64_t> padding_idx;
  Tensor weight;  // (num, dim)

 protected:
  std::string extra_repr() const override;
};

}  // namespace heed::nn
