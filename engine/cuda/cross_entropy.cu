// CUDA cross-entropy over class indices, one warp per row:
//   loss[i] = logsumexp(logits[i]) - logits[i, t_i]      (0 where t_i == ignore_index)
//   dlogits[i] = g_i (softmax(logits[i]) - onehot(t_i))
#include <cmath>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"

namespace heed::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;

template <typename T>
__device__ T row_log_sum_exp(const T* row, int64_t c, int lane) {
  T largest = -INFINITY;
  for (int64_t j = lane; j < c; j += 32) largest = row[j] > largest ? row[j] : largest;
  largest = warp_max(largest);
  T total = 0;
  for (int64_t j = lane; j < c; j += 32) total += exp(row[j] - largest);
  return largest + log(warp_sum(total));
}

template <typename T>
__global__ void cross_entropy_forward_kernel(const T* logits, const int64_t* targets,
                                             int64_t ignore_index, T* loss, int64_t n, int64_t c) {
  const int64_t i = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (i >= n) return;
  const T* row = logits + i * c;
  const T lse = row_log_sum_exp(row, c, lane);
  if (lane == 0) loss[i] = targets[i] == ignore_index ? T(0) : lse - row[targets[i]];
}

template <typename T>
__global__ void cross_entropy_backward_kernel(const T* logits, const int64_t* targets,
                                              int64_t ignore_index, const T* row_grad, T* dlogits,
                                              int64_t n, int64_t c) {
  const int64_t i = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (i >= n) return;
  const T* row = logits + i * c;
  T* out = dlogits + i * c;
  const int64_t t = targets[i];
  const T g = t == ignore_index ? T(0) : row_grad[i];
  const T lse = row_log_sum_exp(row, c, lane);
  for (int64_t j = lane; j < c; j += 32) out[j] = g * (exp(row[j] - lse) - (j == t ? T(1) : T(0)));
}

}  // namespace

int cross_entropy_forward(const heed_view* logits, const heed_view* targets, int64_t ignore_index,
                          const heed_view* loss) {
  const int64_t n = logits->shape[0], c = logits->shape[1];
  if (n == 0) return 0;
  visit_floating(logits->dtype, [&](auto zero) {
    using T = decltype(zero);
    cross_entropy_forward_kernel<T>
        <<<int((n + kWarpsPerBlock - 1) / kWarpsPerBlock), kWarpsPerBlock * 32>>>(
            static_cast<const T*>(logits->data), static_cast<const int64_t*>(targets->data),
            ignore_index, static_cast<T*>(loss->data), n, c);
  });
  return check_launch("cross_entropy_forward");
}

int cross_entropy_backward(const heed_view* logits, const heed_view* targets, int64_t ignore_index,
                           const heed_view* row_grad, const heed_view* dlogits) {
  const int64_t n = logits->shape[0], c = logits->shape[1];
  if (n == 0) return 0;
  visit_floating(logits->dtype, [&](auto zero) {
    using T = decltype(zero);
    cross_entropy_backward_kernel<T>
        <<<int((n + kWarpsPerBlock - 1) / kWarpsPerBlock), kWarpsPerBlock * 32>>>(
            static_cast<const T*>(logits->data), static_cast<const int64_t*>(targets->data),
            ignore_index, static_cast<const T*>(row_grad->data), static_cast<T*>(dlogits->data), n,
            c);
  });
  return check_launch("cross_entropy_backward");
}

}  // namespace heed::cuda
