// CUDA Adam / AdamW step, one thread per element, in the order of nn/optim.hpp's equations:
//   g = grad (+ wd p for Adam)   p *= 1 - lr wd (AdamW)
//   m = b1 m + (1 - b1) g        v = b2 v + (1 - b2) g^2
//   p -= lr / c1 * m / (sqrt(v) / sqrt(c2) + eps)
#include <cmath>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"

namespace heed::cuda {

namespace {

template <typename T>
__global__ void adam_kernel(T* p, const T* grad, T* m, T* v, int64_t n, heed_adam_options o) {
  const T beta1 = T(o.beta1), beta2 = T(o.beta2), eps = T(o.eps), decay = T(o.weight_decay);
  const T shrink = T(1.0 - o.lr * o.weight_decay), sqrt_c2 = T(sqrt(o.bias_correction2));
  const T step = T(o.lr / o.bias_correction1), keep1 = T(1.0 - o.beta1), keep2 = T(1.0 - o.beta2);
  const bool decoupled = o.weight_decay != 0 && o.decoupled != 0;
  const bool coupled = o.weight_decay != 0 && o.decoupled == 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    T value = p[i];
    if (decoupled) value = value * shrink;
    const T g = coupled ? grad[i] + value * decay : grad[i];
    const T mean = m[i] * beta1 + g * keep1;
    const T square = v[i] * beta2 + g * g * keep2;
    m[i] = mean;
    v[i] = square;
    p[i] = value - mean / (sqrt(square) / sqrt_c2 + eps) * step;
  }
}

}  // namespace

int adam_step(const heed_view* param, const heed_view* grad, const heed_view* exp_avg,
              const heed_view* exp_avg_sq, const heed_adam_options* options) {
  const int64_t n = numel(*param);
  if (n == 0) return 0;
  visit_floating(param->dtype, [&](auto zero) {
    using T = decltype(zero);
    adam_kernel<T><<<blocks_for(n), kThreads>>>(
        static_cast<T*>(param->data), static_cast<const T*>(grad->data),
        static_cast<T*>(exp_avg->data), static_cast<T*>(exp_avg_sq->data), n, *options);
  });
  return check_launch("adam_step");
}

}  // namespace heed::cuda
