// Mish (Misra, 2019), an activation heed does not ship, written outside the library with a
// hand-written backward: one node instead of the five a composite would record (softplus, tanh,
// mul, and their intermediates kept alive). docs/extending.md derives the backward.
//
//   mish(x) = x tanh(softplus(x)),   softplus(x) = log(1 + exp(x))
#pragma once

#include "engine/heed.hpp"
#include "engine/ops/common.hpp"
#include "nn/nn.hpp"

namespace custom {

// x (any shape, float32 or float64) -> mish(x), same shape
inline heed::Tensor mish(const heed::Tensor& x) {
  using heed::Tensor;
  heed::ops::check_floating("mish", x);  // heed's own argument check (engine/ops/common.hpp)
  const Tensor xd = x.detach();
  Tensor t, y;
  {
    heed::NoGradGuard no_grad;
    t = heed::tanh(heed::softplus(xd));  // tanh(softplus(x)), kept for the backward
    y = xd * t;
  }
  return heed::record(y, "mish", {x}, [xd, t](const Tensor& dy) {
    // y = x t, t = tanh(softplus(x)): dx = dy * (t + x (1 - t^2) sigmoid(x))
    return std::vector<Tensor>{dy * (t + xd * (1.0 - t * t) * heed::sigmoid(xd))};
  });
}

class Mish : public heed::nn::UnaryModule {
 public:
  Mish() : UnaryModule("Mish") {}
  heed::Tensor forward(const heed::Tensor& x) override { return mish(x); }
};

}  // namespace custom
