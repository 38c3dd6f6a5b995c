// CUDA additive (Bahdanau) attention scores, fused:
//   scores[b, q, k] = sum_h w[h] tanh(qf[b, q, h] + kf[b, k, h])
// forward: one warp per (b, q, k) pair. backward: with t = tanh(qf + kf) recomputed,
//   dqf[b, q, h] = sum_k g w[h] (1 - t^2)   one thread per (b, q, h)
//   dkf[b, k, h] = sum_q g w[h] (1 - t^2)   one thread per (b, k, h)
//   dw[h] = sum_{b, q, k} g t               per (b, h), then over b: fixed order, no atomics
#include <cmath>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"

namespace heed::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;

template <typename T>
__global__ void scores_kernel(const T* qf, const T* kf, const T* w, T* scores, int64_t B, int64_t Q,
                              int64_t K, int64_t H) {
  const int64_t pair = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (pair >= B * Q * K) return;
  const int64_t k = pair % K, q = (pair / K) % Q, b = pair / (K * Q);
  const T* query = qf + (b * Q + q) * H;
  const T* key = kf + (b * K + k) * H;
  T total = 0;
  for (int64_t h = lane; h < H; h += 32) total += w[h] * tanh(query[h] + key[h]);
  total = warp_sum(total);
  if (lane == 0) scores[pair] = total;
}

template <typename T>
__global__ void dquery_kernel(const T* g, const T* qf, const T* kf, const T* w, T* dqf, int64_t B,
                              int64_t Q, int64_t K, int64_t H) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= B * Q * H) return;
  const int64_t h = t % H, q = (t / H) % Q, b = t / (H * Q);
  T total = 0;
  for (int64_t k = 0; k < K; ++k) {
    const T tk = tanh(qf[t] + kf[(b * K + k) * H + h]);
    total += g[(b * Q + q) * K + k] * w[h] * (T(1) - tk * tk);
  }
  dqf[t] = total;
}

template <typename T>
__global__ void dkey_kernel(const T* g, const T* qf, const T* kf, const T* w, T* dkf, int64_t B,
                            int64_t Q, int64_t K, int64_t H) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= B * K * H) return;
  const int64_t h = t % H, k = (t / H) % K, b = t / (H * K);
  T total = 0;
  for (int64_t q = 0; q < Q; ++q) {
    const T tq = tanh(qf[(b * Q + q) * H + h] + kf[t]);
    total += g[(b * Q + q) * K + k] * w[h] * (T(1) - tq * tq);
  }
  dkf[t] = total;
}

template <typename T>
__global__ void dw_partial_kernel(const T* g, const T* qf, const T* kf, T* partial, int64_t B,
                                  int64_t Q, int64_t K, int64_t H) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= B * H) return;
  const int64_t h = t % H, b = t / H;
  T total = 0;
  for (int64_t q = 0; q < Q; ++q) {
    for (int64_t k = 0; k < K; ++k) {
      total += g[(b * Q + q) * K + k] * tanh(qf[(b * Q + q) * H + h] + kf[(b * K + k) * H + h]);
    }
  }
  partial[t] = total;
}

template <typename T>
__global__ void sum_partials_kernel(const T* partial, T* dw, int64_t B, int64_t H) {
  const int64_t h = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (h >= H) return;
  T total = 0;
  for (int64_t b = 0; b < B; ++b) total += partial[b * H + h];
  dw[h] = total;
}

}  // namespace

int additive_scores_forward(const heed_view* query_features, const heed_view* key_features,
                            const heed_view* w, const heed_view* scores) {
  const int64_t B = query_features->shape[0], Q = query_features->shape[1];
  const int64_t K = key_features->shape[1], H = query_features->shape[2];
  if (B * Q * K == 0) return 0;
  visit_floating(w->dtype, [&](auto zero) {
    using T = decltype(zero);
    scores_kernel<T>
        <<<int((B * Q * K + kWarpsPerBlock - 1) / kWarpsPerBlock), kWarpsPerBlock * 32>>>(
            static_cast<const T*>(query_features->data), static_cast<const T*>(key_features->data),
            static_cast<const T*>(w->data), static_cast<T*>(scores->data), B, Q, K, H);
  });
  return check_launch("additive_scores_forward");
}

int additive_scores_backward(const heed_view* dscores, const heed_view* query_features,
                             const heed_view* key_features, const heed_view* w,
                             const heed_view* dquery_features, const heed_view* dkey_features,
                             const heed_view* dw) {
  const int64_t B = query_features->shape[0], Q = query_features->shape[1];
  const int64_t K = key_features->shape[1], H = query_features->shape[2];
  int status = 0;
  visit_floating(w->dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* g = static_cast<const T*>(dscores->data);
    const T* qf = static_cast<const T*>(query_features->data);
    const T* kf = static_cast<const T*>(key_features->data);
    const T* wv = static_cast<const T*>(w->data);
    if (B * Q * H > 0) {
      dquery_kernel<T><<<int((B * Q * H + kThreads - 1) / kThreads), kThreads>>>(
          g, qf, kf, wv, static_cast<T*>(dquery_features->data), B, Q, K, H);
    }
    if (B * K * H > 0) {
      dkey_kernel<T><<<int((B * K * H + kThreads - 1) / kThreads), kThreads>>>(
          g, qf, kf, wv, static_cast<T*>(dkey_features->data), B, Q, K, H);
    }
    T* partial = static_cast<T*>(allocate(sizeof(T) * size_t(std::max<int64_t>(B * H, 1))));
    if (partial == nullptr) {
      status = 1;
      return;
    }
    if (B * H > 0) {
      dw_partial_kernel<T>
          <<<int((B * H + kThreads - 1) / kThreads), kThreads>>>(g, qf, kf, partial, B, Q, K, H);
    }
    if (H > 0) {
      sum_partials_kernel<T><<<blocks_for(H), kThreads>>>(partial, static_cast<T*>(dw->data), B, H);
    }
    release(partial);  // reused only by later launches on the same stream, after these
  });
  return status != 0 ? status : check_launch("additive_scores_backward");
}

}  // namespace heed::cuda
