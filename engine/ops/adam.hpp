// The Adam / AdamW update of one parameter as one fused kernel: nn's optimizers call it for
// every parameter at every step, where the same update from whole-tensor ops would allocate a
// dozen temporaries per parameter.
#pragma once

#include "engine/tensor.hpp"

namespace heed {

struct AdamStep {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled = false;  // AdamW: p *= 1 - lr * wd, instead of g += wd * p
  int64_t step = 1;        // t, counted from 1, for the bias corrections 1 - beta^t
};

// In place, outside autograd: with g = grad (+ wd * p unless decoupled),
//   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
// param, exp_avg and exp_avg_sq must be contiguous, of one shape, dtype and device.
void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                const AdamStep& options);

// The same from whole-tensor ops: the reference the fused kernel is tested against.
void adam_step_composite_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                          const AdamStep& options);

}  // namespace heed
