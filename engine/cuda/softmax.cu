// CUDA masked softmax and log-softmax over the last dim, one warp per row. A row's kept keys
// follow engine/backend.hpp's heed_softmax_mask: masked entries are never exponentiated and get
// exactly 0, and a row with nothing kept is all zeros. The backward needs no mask: y is 0 there.
#include <cmath>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"
#include "engine/kernel_rules.hpp"

namespace heed::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;

struct RowMask {
  const int64_t* valid_lens;  // device memory, or nullptr
  int64_t rows_per_valid_len;
  bool has_keep;
  heed_view keep;  // broadcast to x's shape
  int32_t causal;
};

template <typename T>
__global__ void softmax_forward_kernel(heed_view x, RowMask mask, int32_t log, heed_view y,
                                       int64_t rows) {
  const int64_t row = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int64_t K = x.shape[x.ndim - 1];
  const int64_t Q = x.ndim >= 2 ? x.shape[x.ndim - 2] : 1;
  const T* xr = static_cast<const T*>(x.data) + row * K;
  T* yr = static_cast<T*>(y.data) + row * K;
  const int64_t limit =
      rules::kept_key_limit(mask.valid_lens, mask.rows_per_valid_len, mask.causal, row, Q, K);
  const bool* keep = nullptr;
  int64_t keep_step = 0;
  if (mask.has_keep) {  // the keep-mask entries of this row
    keep = static_cast<const bool*>(mask.keep.data) +
           rules::keep_row_offset(x.shape, x.ndim, mask.keep.strides, row);
    keep_step = mask.keep.strides[x.ndim - 1];
  }
  auto kept = [&](int64_t j) { return j < limit && (keep == nullptr || keep[j * keep_step]); };

  T largest = -INFINITY;
  bool any = false;
  for (int64_t j = lane; j < K; j += 32) {
    if (kept(j)) {
      largest = any ? (xr[j] > largest ? xr[j] : largest) : xr[j];
      any = true;
    }
  }
  largest = warp_max(largest);
  any = __any_sync(0xffffffffu, any);
  if (!any) {
    for (int64_t j = lane; j < K; j += 32) yr[j] = T(0);
    return;
  }
  T total = 0;
  for (int64_t j = lane; j < K; j += 32) {
    if (kept(j)) total += exp(xr[j] - largest);
  }
  total = warp_sum(total);
  if (log != 0) {
    const T log_total = largest + ::log(total);
    for (int64_t j = lane; j < K; j += 32) yr[j] = xr[j] - log_total;
  } else {
    for (int64_t j = lane; j < K; j += 32) yr[j] = kept(j) ? exp(xr[j] - largest) / total : T(0);
  }
}

template <typename T>
__global__ void softmax_backward_kernel(const T* y, const T* dy, int32_t log, T* dx, int64_t rows,
                                        int64_t K) {
  const int64_t row = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const T *yr = y + row * K, *dyr = dy + row * K;
  T* dxr = dx + row * K;
  T total = 0;
  for (int64_t j = lane; j < K; j += 32) total += log != 0 ? dyr[j] : dyr[j] * yr[j];
  total = warp_sum(total);
  for (int64_t j = lane; j < K; j += 32) {
    // softmax: dx = y (dy - sum(dy y)); log_softmax: dx = dy - exp(y) sum(dy)
    dxr[j] = log != 0 ? dyr[j] - exp(yr[j]) * total : yr[j] * (dyr[j] - total);
  }
}

int64_t row_count(const heed_view& v) {
  int64_t rows = 1;
  for (int d = 0; d + 1 < v.ndim; ++d) rows *= v.shape[d];
  return v.ndim == 0 || v.shape[v.ndim - 1] == 0 ? 0 : rows;
}

int blocks_for_rows(int64_t rows) {
  return static_cast<int>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
}

}  // namespace

int softmax_forward(const heed_view* x, const heed_softmax_mask* mask, int32_t log,
                    const heed_view* y) {
  const int64_t rows = row_count(*x);
  if (rows == 0) return 0;
  RowMask row_mask{nullptr, 1, false, {}, 0};
  if (mask != nullptr) {
    row_mask.valid_lens = mask->valid_lens;
    row_mask.rows_per_valid_len = mask->rows_per_valid_len;
    row_mask.has_keep = mask->keep != nullptr;
    if (mask->keep != nullptr) row_mask.keep = *mask->keep;
    row_mask.causal = mask->causal;
  }
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    softmax_forward_kernel<T>
        <<<blocks_for_rows(rows), kWarpsPerBlock * 32>>>(*x, row_mask, log, *y, rows);
  });
  return check_launch("softmax_forward");
}

int softmax_backward(const heed_view* y, const heed_view* dy, int32_t log, const heed_view* dx) {
  const int64_t rows = row_count(*y);
  if (rows == 0) return 0;
  const int64_t K = y->shape[y->ndim - 1];
  visit_floating(y->dtype, [&](auto zero) {
    using T = decltype(zero);
    softmax_backward_kernel<T><<<blocks_for_rows(rows), kWarpsPerBlock * 32>>>(
        static_cast<const T*>(y->data), static_cast<const T*>(dy->data), log,
        static_cast<T*>(dx->data), rows, K);
  });
  return check_launch("softmax_backward");
}

}  // namespace heed::cuda
