// CUDA row reductions: x contiguous (rows, n) -> one value per row (sum, max, min) or the int64
// index of the max or min (the first one on ties, as the CPU kernels). One warp per row.
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"

namespace heed::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;

template <typename T>
__global__ void reduce_kernel(int32_t op, const T* x, int64_t rows, int64_t n, void* out) {
  const int64_t row = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const T* r = x + row * n;
  if (op == HEED_SUM) {
    T total = 0;
    for (int64_t j = lane; j < n; j += 32) total += r[j];
    total = warp_sum(total);
    if (lane == 0) static_cast<T*>(out)[row] = total;
    return;
  }
  const bool largest = op == HEED_MAX || op == HEED_ARGMAX;
  int64_t best = n > 0 ? lane : 0;
  for (int64_t j = lane; j < n; j += 32) {
    const bool better = largest ? r[j] > r[best] : r[j] < r[best];
    if (better) best = j;
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    const int64_t other = __shfl_xor_sync(0xffffffffu, best, offset);
    if (other < n && best < n) {
      const bool better = largest ? r[other] > r[best] : r[other] < r[best];
      const bool tie = r[other] == r[best] && other < best;  // the first index wins ties
      if (better || tie) best = other;
    } else if (other < n) {
      best = other;
    }
  }
  if (lane != 0) return;
  if (op == HEED_ARGMAX || op == HEED_ARGMIN) {
    static_cast<int64_t*>(out)[row] = best;
  } else {
    static_cast<T*>(out)[row] = r[best];
  }
}

}  // namespace

int reduce_rows(int32_t op, const heed_view* x, const heed_view* out) {
  if (op < 0 || op >= HEED_REDUCE_OP_COUNT) return unknown_op("reduce_rows", op);
  const int64_t rows = x->shape[0], n = x->shape[1];
  if (rows == 0) return 0;
  const int blocks = static_cast<int>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  visit_any(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, bool>) {
      reduce_kernel<T>
          <<<blocks, kWarpsPerBlock * 32>>>(op, static_cast<const T*>(x->data), rows, n, out->data);
    }
  });
  return check_launch("reduce_rows");
}

}  // namespace heed::cuda
