// The naive Adam step: one element at a time, in double.
// The fast kernel in engine/cpu/adam.cpp is tested against it (ReferenceKernelsGuard).
#include <cmath>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu::reference {

// Adam one element at a time, in double, in the order of nn/optim.hpp's equations.
int adam_step(const heed_view* param, const heed_view* grad, const heed_view* exp_avg,
              const heed_view* exp_avg_sq, const heed_adam_options* o) {
  int64_t n = 1;
  for (int32_t d = 0; d < param->ndim; ++d) n *= param->shape[d];
  visit_floating(param->dtype, [&](auto zero) {
    using T = decltype(zero);
    T *p = typed<T>(param), *m = typed<T>(exp_avg), *v = typed<T>(exp_avg_sq);
    const T* g_in = typed<T>(grad);
    for (int64_t i = 0; i < n; ++i) {
      double g = double(g_in[i]), value = double(p[i]);
      if (o->weight_decay != 0 && o->decoupled) value *= 1.0 - o->lr * o->weight_decay;
      if (o->weight_decay != 0 && !o->decoupled) g += o->weight_decay * value;
      const double mean = o->beta1 * double(m[i]) + (1.0 - o->beta1) * g;
      const double square = o->beta2 * double(v[i]) + (1.0 - o->beta2) * g * g;
      const double denominator = std::sqrt(square) / std::sqrt(o->bias_correction2) + o->eps;
      p[i] = static_cast<T>(value - mean / denominator * (o->lr / o->bias_correction1));
      m[i] = static_cast<T>(mean);
      v[i] = static_cast<T>(square);
    }
  });
  return 0;
}

}  // namespace heed::cpu::reference
