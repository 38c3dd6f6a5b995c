// RMSNorm (Zhang and Sennrich, 2019), a layer heed does not ship, written outside the library
// against its public headers only: a differentiable function with a hand-written backward,
// and the Module that owns its weight. docs/extending.md walks through this file.
//
//   y = x / rms(x) * weight,   rms(x) = sqrt(mean(x^2 over the last dim) + eps)
#pragma once

#include "engine/heed.hpp"
#include "nn/nn.hpp"

namespace custom {

// x (..., d), weight (d) -> y (..., d)
inline heed::Tensor rms_norm(const heed::Tensor& x, const heed::Tensor& weight, double eps) {
  using heed::Tensor;
  if (x.dim() < 1 || weight.dim() != 1 || x.size(-1) != weight.size(0)) {
    heed::fail("rms_norm: expected x (..., d) and weight (d), got {} and {}",
               heed::shape_str(x.shape()), heed::shape_str(weight.shape()));
  }
  // The forward on detached values: record() below attaches the one backward node.
  const Tensor xd = x.detach(), wd = weight.detach();
  Tensor inv_rms, y;
  {
    heed::NoGradGuard no_grad;
    inv_rms = 1.0 / ((xd * xd).mean({-1}, /*keepdim=*/true) + eps).sqrt();  // (..., 1)
    y = xd * inv_rms * wd;                                                  // (..., d)
  }
  return heed::record(y, "rms_norm", {x, weight}, [xd, wd, inv_rms](const Tensor& dy) {
    // g = dy w: dx = r (g - x r^2 mean(g x)), dw = sum over rows of dy x r  (r = 1 / rms)
    const Tensor g = dy * wd;  // (..., d)
    const Tensor dx = inv_rms * (g - xd * inv_rms * inv_rms * (g * xd).mean({-1}, true));
    const Tensor dw = heed::sum_to(dy * xd * inv_rms, wd.shape());  // (d)
    return std::vector<Tensor>{dx, dw};
  });
}

class RMSNorm : public heed::nn::UnaryModule {
 public:
  explicit RMSNorm(int64_t dim, double eps = 1e-6) : UnaryModule("RMSNorm"), eps(eps) {
    weight = register_parameter("weight", heed::ones({dim}));
  }
  heed::Tensor forward(const heed::Tensor& x) override { return rms_norm(x, weight, eps); }

  heed::Tensor weight;  // (d), starts at 1
  double eps;

 protected:
  std::string extra_repr() const override {
    return fmt::format("dim={}, eps={}", weight.size(0), eps);
  }
};

}  // namespace custom
