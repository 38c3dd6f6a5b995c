// CUDA gathers and scatter-adds along one dim of a contiguous (outer, n, inner) view, as the CPU
// kernels (engine/cpu/index.cpp). The scatter-adds use atomicAdd, since indices may repeat.
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"

namespace heed::cuda {

namespace {

// out (outer, m, inner) = x (outer, n, inner) at index (m)
template <typename T>
__global__ void index_select_kernel(const T* x, const int64_t* index, T* out, int64_t outer,
                                    int64_t n, int64_t m, int64_t inner) {
  const int64_t total = outer * m * inner;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = t % inner, i = (t / inner) % m, o = t / (inner * m);
    out[t] = x[(o * n + index[i]) * inner + j];
  }
}

// out (outer, n, inner) += src (outer, m, inner) at index (m)
template <typename T>
__global__ void index_add_kernel(const T* src, const int64_t* index, T* out, int64_t outer,
                                 int64_t n, int64_t m, int64_t inner) {
  const int64_t total = outer * m * inner;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = t % inner, i = (t / inner) % m, o = t / (inner * m);
    atomicAdd(&out[(o * n + index[i]) * inner + j], src[t]);
  }
}

// out[o, i, j] = x[o, index[o, i, j], j]
template <typename T>
__global__ void gather_kernel(const T* x, const int64_t* index, T* out, int64_t n, int64_t m,
                              int64_t inner, int64_t total) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = t / (m * inner), j = t % inner;
    out[t] = x[(o * n + index[t]) * inner + j];
  }
}

// out[o, index[o, i, j], j] += src[o, i, j]
template <typename T>
__global__ void scatter_add_kernel(const T* src, const int64_t* index, T* out, int64_t n, int64_t m,
                                   int64_t inner, int64_t total) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = t / (m * inner), j = t % inner;
    atomicAdd(&out[(o * n + index[t]) * inner + j], src[t]);
  }
}

}  // namespace

int index_select(const heed_view* x, const heed_view* index, const heed_view* out) {
  const int64_t outer = x->shape[0], n = x->shape[1], inner = x->shape[2], m = index->shape[0];
  const int64_t total = outer * m * inner;
  if (total == 0) return 0;
  visit_any(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    index_select_kernel<T><<<blocks_for(total), kThreads>>>(
        static_cast<const T*>(x->data), static_cast<const int64_t*>(index->data),
        static_cast<T*>(out->data), outer, n, m, inner);
  });
  return check_launch("index_select");
}

int index_add(const heed_view* src, const heed_view* index, const heed_view* out) {
  const int64_t outer = out->shape[0], n = out->shape[1], inner = out->shape[2];
  const int64_t m = index->shape[0], total = outer * m * inner;
  if (total == 0) return 0;
  visit_floating(out->dtype, [&](auto zero) {
    using T = decltype(zero);
    index_add_kernel<T><<<blocks_for(total), kThreads>>>(
        static_cast<const T*>(src->data), static_cast<const int64_t*>(index->data),
        static_cast<T*>(out->data), outer, n, m, inner);
  });
  return check_launch("index_add");
}

int gather(const heed_view* x, const heed_view* index, const heed_view* out) {
  const int64_t n = x->shape[1], inner = x->shape[2], m = index->shape[1];
  const int64_t total = x->shape[0] * m * inner;
  if (total == 0) return 0;
  visit_any(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    gather_kernel<T><<<blocks_for(total), kThreads>>>(
        static_cast<const T*>(x->data), static_cast<const int64_t*>(index->data),
        static_cast<T*>(out->data), n, m, inner, total);
  });
  return check_launch("gather");
}

int scatter_add(const heed_view* src, const heed_view* index, const heed_view* out) {
  const int64_t n = out->shape[1], inner = out->shape[2], m = index->shape[1];
  const int64_t total = out->shape[0] * m * inner;
  if (total == 0) return 0;
  visit_floating(out->dtype, [&](auto zero) {
    using T = decltype(zero);
    scatter_add_kernel<T><<<blocks_for(total), kThreads>>>(
        static_cast<const T*>(src->data), static_cast<const int64_t*>(index->data),
        static_cast<T*>(out->data), n, m, inner, total);
  });
  return check_launch("scatter_add");
}

}  // namespace heed::cuda
