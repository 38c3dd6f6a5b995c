// CPU Adam / AdamW step, fused: one pass over a parameter updates it and both moment buffers,
// instead of a dozen whole-tensor ops each allocating a temporary. Same arithmetic, in the same
// order, as the equations in nn/optim.hpp:
//   g = grad (+ wd * p for Adam)      p *= 1 - lr * wd (AdamW)
//   m = b1 m + (1 - b1) g             v = b2 v + (1 - b2) g^2
//   p -= lr / c1 * m / (sqrt(v) / sqrt(c2) + eps)
#include <cmath>

#include "engine/cpu/fast_math.hpp"
#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu {

namespace {

template <typename T>
HEED_ALSO_FOR_AVX2 void adam_range(T* __restrict p, const T* __restrict grad, T* __restrict m,
                                   T* __restrict v, int64_t begin, int64_t end,
                                   const heed_adam_options& o) {
  const T beta1 = T(o.beta1), beta2 = T(o.beta2), eps = T(o.eps);
  const T decay = T(o.weight_decay), shrink = T(1.0 - o.lr * o.weight_decay);
  const bool decoupled = o.weight_decay != 0 && o.decoupled != 0;
  const bool coupled = o.weight_decay != 0 && o.decoupled == 0;
  const T sqrt_c2 = T(std::sqrt(o.bias_correction2)), step = T(o.lr / o.bias_correction1);
  const T keep1 = T(1.0 - o.beta1), keep2 = T(1.0 - o.beta2);
  for (int64_t i = begin; i < end; ++i) {
    T value = p[i];
    if (decoupled) value = value * shrink;
    const T g = coupled ? grad[i] + value * decay : grad[i];
    const T mean = m[i] * beta1 + g * keep1;
    const T square = v[i] * beta2 + g * g * keep2;
    m[i] = mean;
    v[i] = square;
    p[i] = value - mean / (std::sqrt(square) / sqrt_c2 + eps) * step;
  }
}

}  // namespace

int adam_step(const heed_view* param, const heed_view* grad, const heed_view* exp_avg,
              const heed_view* exp_avg_sq, const heed_adam_options* options) {
  int64_t n = 1;
  for (int32_t d = 0; d < param->ndim; ++d) n *= param->shape[d];
  visit_floating(param->dtype, [&](auto zero) {
    using T = decltype(zero);
    parallel_range(n, 32768, [&](int64_t begin, int64_t end) {
      adam_range(typed<T>(param), typed<T>(grad), typed<T>(exp_avg), typed<T>(exp_avg_sq), begin,
                 end, *options);
    });
  });
  return 0;
}

}  // namespace heed::cpu
