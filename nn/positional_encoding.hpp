// Telling attention where each token is: attention itself is blind to order.
//   Sinusoidal (Vaswani et al., d2l's PositionalEncoding): P[t, 2i] = sin(t / 10000^(2i/d)),
//     P[t, 2i+1] = cos(t / 10000^(2i/d)); fixed, nothing to learn, any length up to max_len.
//   Learned (GPT-2's wpe): one trained vector per position, weight (max_len, d).
// Both add to x (B, T, d) the encodings of positions offset .. offset + T - 1, or of explicit
// position ids (B, T) (left-padded batches, where each row's first real token is position 0).
#pragma once

#include <memory>

#include "nn/dropout.hpp"
#include "nn/embedding.hpp"

namespace heed::nn {

class SinusoidalPositionalEncoding : public Module {
 public:
  SinusoidalPositionalEncoding(int64_t num_hiddens, double dropout = 0.0, int64_t max_len = 1000,
                               DType dtype = kFloat32);
  Tensor forward(const Tensor& x, int64_t offset = 0);
  Tensor forward(const Tensor& x, const Tensor& position_ids);

  Tensor P;  // (max_len, d): not a parameter, and not saved (it is recomputed)

 private:
  std::shared_ptr<Dropout> dropout_;
};

class LearnedPositionalEncoding : public Module {
 public:
  LearnedPositionalEncoding(int64_t max_len, int64_t num_hiddens, double dropout = 0.0,
                            DType dtype = kFloat32);
  Tensor forward(const Tensor& x, int64_t offset = 0);
  Tensor forward(const Tensor& x, const Tensor& position_ids);

  std::shared_ptr<Embedding> table;  // registered as "wpe": its table is wpe.weight (max_len, d)

 private:
  std::shared_ptr<Dropout> dropout_;
};

}  // namespace heed::nn
