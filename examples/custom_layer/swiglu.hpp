// SwiGLU (Shazeer, 2020), the feed-forward block of many recent transformers, built from
// heed's own layers and ops: autograd differentiates it, no backward to write.
//
//   swiglu(x) = w2(silu(w1 x) * w3 x),   w1, w3: (hidden, dim), w2: (dim, hidden), no biases
#pragma once

#include "nn/nn.hpp"

namespace custom {

class SwiGLU : public heed::nn::UnaryModule {
 public:
  SwiGLU(int64_t dim, int64_t hidden) : UnaryModule("SwiGLU") {
    w1 = register_module("w1", std::make_shared<heed::nn::Linear>(dim, hidden, false));
    w2 = register_module("w2", std::make_shared<heed::nn::Linear>(hidden, dim, false));
    w3 = register_module("w3", std::make_shared<heed::nn::Linear>(dim, hidden, false));
  }
  // x (..., dim) -> (..., dim)
  heed::Tensor forward(const heed::Tensor& x) override {
    const heed::Tensor gate = heed::silu(w1->forward(x));  // (..., hidden)
    return w2->forward(gate * w3->forward(x));             // (..., dim)
  }

  std::shared_ptr<heed::nn::Linear> w1, w2, w3;
};

}  // namespace custom
