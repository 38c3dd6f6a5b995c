// Dropout as a composite: y = x * keep / (1 - p) with keep ~ Bernoulli(1 - p). Its gradient,
// dx = dy * keep / (1 - p), comes from mul's backward.
#include "engine/ops/dropout.hpp"

#include <vector>

#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"

namespace heed {

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
  const profiler::Scope profiled("dropout");
  ops::check_floating("dropout", x);
  if (!(p >= 0.0 && p <= 1.0)) fail("dropout: probability must be in [0, 1], got {}", p);
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;
  // The scaled keep mask, drawn on the host in one pass: 1 / (1 - p) where a uniform draw is at
  // least p, else 0. (As rand(...) >= p, divided by 1 - p, without the three temporaries.)
  Generator& g = generator ? *generator : default_generator();
  const double scale = 1.0 / (1.0 - p);
  auto draw_mask = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> keep(static_cast<size_t>(x.numel()));
    for (T& value : keep) value = g.uniform() >= p ? T(scale) : T(0);
    return from_vector(keep, x.shape(), {x.dtype(), x.device()});
  };
  const Tensor scaled_keep = x.dtype() == kFloat32 ? draw_mask(0.0f) : draw_mask(0.0);
  return x * scaled_keep;  // dx = dy * keep / (1 - p)
}

}  // namespace heed
