// Positional encodings: the fixed sinusoidal table and learned position embeddings.
#include "nn/positional_encoding.hpp"

#include <cmath>
#include <vector>

namespace heed::nn {

namespace {

void check_positions(const char* module, const Tensor& x, int64_t d, int64_t first, int64_t last,
                     int64_t max_len) {
  if (x.dim() != 3 || x.size(2) != d) {
    fail("{}: expected x of shape (B, T, {}), got {}", module, d, shape_str(x.shape()));
  }
  if (first < 0 || last >= max_len) {
    fail("{}: positions {}..{} are outside [0, {}) (raise max_len)", module, first, last, max_len);
  }
}

}  // namespace

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(int64_t d, double dropout,
                                                           int64_t max_len, DType dtype)
    : Module("SinusoidalPositionalEncoding") {
  if (d < 1 || max_len < 1) fail("SinusoidalPositionalEncoding: expected positive sizes");
  std::vector<double> table(static_cast<size_t>(max_len * d));
  for (int64_t t = 0; t < max_len; ++t) {
    for (int64_t i = 0; i < d; i += 2) {
      const double angle = double(t) / std::pow(10000.0, double(i) / double(d));
      table[static_cast<size_t>(t * d + i)] = std::sin(angle);
      if (i + 1 < d) table[static_cast<size_t>(t * d + i + 1)] = std::cos(angle);
    }
  }
  P = tensor(table, {max_len, d}, {dtype});
  dropout_ = register_module("dropout", std::make_shared<Dropout>(dropout));
}

Tensor SinusoidalPositionalEncoding::forward(const Tensor& x, int64_t offset) {
  check_positions("SinusoidalPositionalEncoding", x, P.size(1), offset, offset + x.size(1) - 1,
                  P.size(0));
  const Tensor encodings = P.narrow(0, offset, x.size(1)).to(x.device());  // (T, d)
  return dropout_->forward(x + encodings.to(x.dtype()));
}

Tensor SinusoidalPositionalEncoding::forward(const Tensor& x, const Tensor& position_ids) {
  check_positions("SinusoidalPositionalEncoding", x, P.size(1), 0, 0, P.size(0));
  return dropout_->forward(x +
                           embedding(P.to(x.dtype()).to(x.device()), position_ids));  // (B, T, d)
}

LearnedPositionalEncoding::LearnedPositionalEncoding(int64_t max_len, int64_t d, double dropout,
                                                     DType dtype)
    : Module("LearnedPositionalEncoding") {
  table = register_module("wpe", std::make_shared<Embedding>(max_len, d, std::nullopt, dtype));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(dropout));
}

Tensor LearnedPositionalEncoding::forward(const Tensor& x, int64_t offset) {
  check_positions("LearnedPositionalEncoding", x, table->embedding_dim, offset,
                  offset + x.size(1) - 1, table->num_embeddings);
  const Tensor positions =
      arange(double(offset), double(offset + x.size(1))).to(x.device());  // (T)
  return dropout_->forward(x + table->forward(positions));
}

Tensor LearnedPositionalEncoding::forward(const Tensor& x, const Tensor& position_ids) {
  check_positions("LearnedPositionalEncoding", x, table->embedding_dim, 0, 0,
                  table->num_embeddings);
  return dropout_->forward(x + table->forward(position_ids));  // ids checked by the lookup
}

}  // namespace heed::nn
