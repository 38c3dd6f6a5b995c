// Dropout as a composite: y = x * keep / (1 - p) with keep ~ Bernoulli(1 - p). Its gradient,
// dx = dy * keep / (1 - p), comes from mul's backward.
#include "engine/ops/dropout.hpp"

#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"

namespace heed {

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
  ops::check_floating("dropout", x);
  if (!(p >= 0.0 && p <= 1.0)) fail("dropout: probability must be in [0, 1], got {}", p);
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;
  const Tensor uniform = rand(x.shape(), {x.dtype(), x.device()}, generator);
  const Tensor scaled_keep = ge(uniform, scalar_like(uniform, p)).to(x.dtype()) / (1.0 - p);
  return x * scaled_keep;
}

}  // namespace heed
