// The Embedding module: rows of a weight matrix looked up by id, N(0, 1) initialised as PyTorch.
#include "nn/embedding.hpp"

#include "nn/init.hpp"

namespace heed::nn {

Embedding::Embedding(int64_t num, int64_t dim, std::optional<int64_t> padding, DType dtype)
    : UnaryModule("Embedding"), num_embeddings(num), embedding_dim(dim), padding_idx(padding) {
  if (num < 1 || dim < 1) {
    fail("Embedding: expected positive num_embeddings and embedding_dim, got {} and {}", num, dim);
  }
  if (padding_idx && *padding_idx < 0) *padding_idx += num;  // -1 means the last row
  if (padding_idx && (*padding_idx < 0 || *padding_idx >= num)) {
    fail("Embedding: padding_idx must be in [-{}, {}), got {}", num, num, *padding);
  }
  weight = register_parameter("weight", empty({num, dim}, {dtype}));
  init::normal_(weight);
  if (padding_idx) {
    NoGradGuard no_grad;
    weight.select(0, *padding_idx).zero_();
  }
}

Tensor Embedding::forward(const Tensor& ids) {
  return embedding(weight, ids, padding_idx);
}

std::string Embedding::extra_repr() const {
  std::string out = fmt::format("{}, {}", num_embeddings, embedding_dim);
  if (padding_idx) out += fmt::format(", padding_idx={}", *padding_idx);
  return out;
}

}  // namespace heed::nn
