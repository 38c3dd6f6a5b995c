// CUDA scaled dot-product attention, the plain way: one thread per query row (b, h, t), in a
// grid-stride loop. forward: three passes over the row's kept keys, recomputing each score: the
//   max, the sum of e^(s - max), then p_j v_j added into the output row; logsumexp = max +
//   log(sum).
// backward: p_j = e^(s_j - logsumexp) recomputed; D = do . o;
//   dp_j = do . v_j;  ds_j = p_j (dp_j - D);  dq += scale ds_j k_j (the row's own, no atomics);
//   dk_j += scale ds_j q and dv_j += p_j do (rows meet on keys: atomicAdd).
// Masks follow the CPU kernels (engine/cpu/attention.cpp): a row with no kept key gets zeros.
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"
#include "engine/kernel_rules.hpp"

namespace heed::cuda {

namespace {

// A (B, H, T, X) view's strides, for element (b, h, t, c) with c's stride 1.
struct Strides4 {
  int64_t b, h, t;
};
Strides4 strides_of(const heed_view* view) {
  return {view->strides[0], view->strides[1], view->strides[2]};
}

struct Sizes {
  int64_t B, H, L, S, d, e;
  int32_t causal;
  double scale;
};

__device__ inline bool kept(const Sizes& n, const bool* keep, int64_t b, int64_t t, int64_t j) {
  return j < rules::kept_key_limit(nullptr, 1, n.causal, t, n.L, n.S) &&
         (keep == nullptr || keep[b * n.S + j]);
}

template <typename T>
__device__ T score(const Sizes& n, const T* q, Strides4 qs, const T* k, Strides4 ks, int64_t b,
                   int64_t h, int64_t t, int64_t j) {
  const T* qrow = q + b * qs.b + h * qs.h + t * qs.t;
  const T* krow = k + b * ks.b + h * ks.h + j * ks.t;
  T s = 0;
  for (int64_t c = 0; c < n.d; ++c) s += qrow[c] * krow[c];
  return s * T(n.scale);
}

template <typename T>
__device__ void forward_row(Sizes n, const T* q, Strides4 qs, const T* k, Strides4 ks, const T* v,
                            Strides4 vs, const bool* keep, T* out, Strides4 os, T* logsumexp,
                            int64_t row) {
  const int64_t t = row % n.L, h = (row / n.L) % n.H, b = row / (n.L * n.H);
  T* o = out + b * os.b + h * os.h + t * os.t;
  for (int64_t c = 0; c < n.e; ++c) o[c] = 0;
  bool any = false;
  T max = 0, sum = 0;
  for (int64_t j = 0; j < n.S; ++j) {
    if (!kept(n, keep, b, t, j)) continue;
    const T s = score(n, q, qs, k, ks, b, h, t, j);
    max = any ? (s > max ? s : max) : s;
    any = true;
  }
  if (!any) {
    logsumexp[row] = 0;
    return;
  }
  for (int64_t j = 0; j < n.S; ++j) {
    if (kept(n, keep, b, t, j)) sum += exp(score(n, q, qs, k, ks, b, h, t, j) - max);
  }
  for (int64_t j = 0; j < n.S; ++j) {
    if (!kept(n, keep, b, t, j)) continue;
    const T p = exp(score(n, q, qs, k, ks, b, h, t, j) - max) / sum;
    const T* vrow = v + b * vs.b + h * vs.h + j * vs.t;
    for (int64_t c = 0; c < n.e; ++c) o[c] += p * vrow[c];
  }
  logsumexp[row] = max + log(sum);
}

template <typename T>
__global__ void forward_kernel(Sizes n, const T* q, Strides4 qs, const T* k, Strides4 ks,
                               const T* v, Strides4 vs, const bool* keep, T* out, Strides4 os,
                               T* logsumexp) {
  const int64_t rows = n.B * n.H * n.L;
  for (int64_t row = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; row < rows;
       row += int64_t(gridDim.x) * blockDim.x) {
    forward_row(n, q, qs, k, ks, v, vs, keep, out, os, logsumexp, row);
  }
}

template <typename T>
__device__ void backward_row(Sizes n, const T* q, Strides4 qs, const T* k, Strides4 ks, const T* v,
                             Strides4 vs, const bool* keep, const T* out, Strides4 os,
                             const T* logsumexp, const T* dout, Strides4 dos, T* dq, T* dk, T* dv,
                             int64_t row) {
  const int64_t t = row % n.L, h = (row / n.L) % n.H, b = row / (n.L * n.H);
  const T* o = out + b * os.b + h * os.h + t * os.t;
  const T* g = dout + b * dos.b + h * dos.h + t * dos.t;
  const T* qrow = q + b * qs.b + h * qs.h + t * qs.t;
  T* dqrow = dq + row * n.d;  // dq, dk, dv are contiguous
  T D = 0;
  for (int64_t c = 0; c < n.e; ++c) D += g[c] * o[c];
  for (int64_t j = 0; j < n.S; ++j) {
    if (!kept(n, keep, b, t, j)) continue;
    const T p = exp(score(n, q, qs, k, ks, b, h, t, j) - logsumexp[row]);
    const T* vrow = v + b * vs.b + h * vs.h + j * vs.t;
    const T* krow = k + b * ks.b + h * ks.h + j * ks.t;
    const int64_t key = (b * n.H + h) * n.S + j;
    T dp = 0;
    for (int64_t c = 0; c < n.e; ++c) {
      dp += g[c] * vrow[c];
      atomicAdd(&dv[key * n.e + c], p * g[c]);
    }
    const T ds = p * (dp - D) * T(n.scale);
    for (int64_t c = 0; c < n.d; ++c) {
      dqrow[c] += ds * krow[c];
      atomicAdd(&dk[key * n.d + c], ds * qrow[c]);
    }
  }
}

template <typename T>
__global__ void backward_kernel(Sizes n, const T* q, Strides4 qs, const T* k, Strides4 ks,
                                const T* v, Strides4 vs, const bool* keep, const T* out,
                                Strides4 os, const T* logsumexp, const T* dout, Strides4 dos, T* dq,
                                T* dk, T* dv) {
  const int64_t rows = n.B * n.H * n.L;
  for (int64_t row = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; row < rows;
       row += int64_t(gridDim.x) * blockDim.x) {
    backward_row(n, q, qs, k, ks, v, vs, keep, out, os, logsumexp, dout, dos, dq, dk, dv, row);
  }
}

Sizes sizes_of(const heed_view* q, const heed_view* k, const heed_view* v, int32_t causal,
               double scale) {
  return {q->shape[0], q->shape[1], q->shape[2], k->shape[2],
          q->shape[3], v->shape[3], causal,      scale};
}

const bool* keep_of(const heed_view* key_keep) {
  return key_keep != nullptr ? static_cast<const bool*>(key_keep->data) : nullptr;
}

}  // namespace

int attention_forward(const heed_view* q, const heed_view* k, const heed_view* v,
                      const heed_view* key_keep, int32_t causal, double scale, const heed_view* out,
                      const heed_view* logsumexp) {
  const Sizes n = sizes_of(q, k, v, causal, scale);
  const int64_t rows = n.B * n.H * n.L;
  if (rows == 0) return 0;
  visit_floating(q->dtype, [&](auto zero) {
    using T = decltype(zero);
    forward_kernel<T><<<blocks_for(rows), kThreads>>>(
        n, static_cast<const T*>(q->data), strides_of(q), static_cast<const T*>(k->data),
        strides_of(k), static_cast<const T*>(v->data), strides_of(v), keep_of(key_keep),
        static_cast<T*>(out->data), strides_of(out), static_cast<T*>(logsumexp->data));
  });
  return check_launch("attention_forward");
}

int attention_backward(const heed_view* q, const heed_view* k, const heed_view* v,
                       const heed_view* key_keep, int32_t causal, double scale,
                       const heed_view* out, const heed_view* logsumexp, const heed_view* dout,
                       const heed_view* dq, const heed_view* dk, const heed_view* dv) {
  const Sizes n = sizes_of(q, k, v, causal, scale);
  const size_t element = q->dtype == HEED_FLOAT64 ? sizeof(double) : sizeof(float);
  // The sums start from zero: dq is the row's own, dk and dv gather atomically.
  if (cudaMemset(dq->data, 0, size_t(n.B * n.H * n.L * n.d) * element) != cudaSuccess ||
      cudaMemset(dk->data, 0, size_t(n.B * n.H * n.S * n.d) * element) != cudaSuccess ||
      cudaMemset(dv->data, 0, size_t(n.B * n.H * n.S * n.e) * element) != cudaSuccess) {
    return check_launch("attention_backward (clearing the gradients)");
  }
  const int64_t rows = n.B * n.H * n.L;
  if (rows == 0) return 0;
  visit_floating(q->dtype, [&](auto zero) {
    using T = decltype(zero);
    backward_kernel<T><<<blocks_for(rows), kThreads>>>(
        n, static_cast<const T*>(q->data), strides_of(q), static_cast<const T*>(k->data),
        strides_of(k), static_cast<const T*>(v->data), strides_of(v), keep_of(key_keep),
        static_cast<const T*>(out->data), strides_of(out), static_cast<const T*>(logsumexp->data),
        static_cast<const T*>(dout->data), strides_of(dout), static_cast<T*>(dq->data),
        static_cast<T*>(dk->data), static_cast<T*>(dv->data));
  });
  return check_launch("attention_backward");
}

}  // namespace heed::cuda
