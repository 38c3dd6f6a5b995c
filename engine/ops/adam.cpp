// The Adam / AdamW update as one fused kernel call per parameter, and its composite twin.
#include "engine/ops/adam.hpp"

#include <cmath>

#include "engine/autograd.hpp"
#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"

namespace heed {

namespace {

void check_adam_arguments(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                          const Tensor& exp_avg_sq, const AdamStep& o) {
  ops::check_floating("adam_step_", param);
  for (const Tensor* t : {&grad, &exp_avg, &exp_avg_sq}) {
    ops::check_same_dtype_and_device("adam_step_", param, *t);
    if (t->shape() != param.shape()) {
      fail("adam_step_: expected grad and moments of the parameter's shape {}, got {}",
           shape_str(param.shape()), shape_str(t->shape()));
    }
  }
  if (!param.is_contiguous() || !exp_avg.is_contiguous() || !exp_avg_sq.is_contiguous()) {
    fail("adam_step_: the parameter and its moments must be contiguous");
  }
  if (o.step < 1) fail("adam_step_: the step count starts at 1, got {}", o.step);
}

}  // namespace

void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                const AdamStep& o) {
  const profiler::Scope profiled("adam_step_");
  check_adam_arguments(param, grad, exp_avg, exp_avg_sq, o);
  const Tensor g = grad.detach().contiguous();
  const heed_adam_options options{o.lr,
                                  o.beta1,
                                  o.beta2,
                                  o.eps,
                                  o.weight_decay,
                                  o.decoupled ? 1 : 0,
                                  1.0 - std::pow(o.beta1, double(o.step)),
                                  1.0 - std::pow(o.beta2, double(o.step))};
  ops::call_kernel(param, &heed_backend::adam_step, "adam_step", param, g, exp_avg, exp_avg_sq,
                   &options);
}

void adam_step_composite_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                          const AdamStep& o) {
  check_adam_arguments(param, grad, exp_avg, exp_avg_sq, o);
  NoGradGuard no_grad;
  Tensor g = grad;
  if (o.weight_decay != 0) {
    if (o.decoupled) {
      param.copy_(param * (1.0 - o.lr * o.weight_decay));  // AdamW: p -= lr * wd * p
    } else {
      g = g + param * o.weight_decay;  // Adam: g += wd * p
    }
  }
  exp_avg.copy_(exp_avg * o.beta1 + g * (1.0 - o.beta1));            // m = b1 m + (1 - b1) g
  exp_avg_sq.copy_(exp_avg_sq * o.beta2 + g * g * (1.0 - o.beta2));  // v = b2 v + (1 - b2) g^2
  const double correction1 = 1.0 - std::pow(o.beta1, double(o.step));
  const double correction2 = 1.0 - std::pow(o.beta2, double(o.step));
  // p -= lr / c1 * m / (sqrt(v) / sqrt(c2) + eps), in PyTorch's order of operations
  const Tensor denominator = exp_avg_sq.sqrt() / std::sqrt(correction2) + o.eps;
  param.copy_(param - exp_avg / denominator * (o.lr / correction1));
}

}  // namespace heed
