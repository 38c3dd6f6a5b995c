// CPU row reductions: x contiguous (rows, n) -> out (rows).
#include "engine/cpu/kernels.hpp"
#include "engine/cpu/row_reductions.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu {

namespace {

template <typename T>
void reduce(int32_t op, const T* x, int64_t rows, int64_t n, void* out) {
  parallel_range(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t r = begin; r < end; ++r) {
                     const T* row = x + r * n;
                     if (op == HEED_SUM) {
                       static_cast<T*>(out)[r] = row_sum(row, n);
                       continue;
                     }
                     // max / min and their indices; the first index wins ties, as in PyTorch.
                     const bool want_max = op == HEED_MAX || op == HEED_ARGMAX;
                     int64_t best = 0;
                     for (int64_t i = 1; i < n; ++i) {
                       if (want_max ? row[i] > row[best] : row[i] < row[best]) best = i;
                     }
                     if (op == HEED_ARGMAX || op == HEED_ARGMIN) {
                       static_cast<int64_t*>(out)[r] = best;
                     } else {
                       static_cast<T*>(out)[r] = row[best];
                     }
                   }
                 });
}

}  // namespace

int reduce_rows(int32_t op, const heed_view* x, const heed_view* out) {
  if (op < 0 || op >= HEED_REDUCE_OP_COUNT)
    return report_error("reduce_rows", "unknown op code", op);
  const int64_t n = x->shape[1];
  visit_any(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, bool>) reduce<T>(op, typed<T>(x), x->shape[0], n, out->data);
  });
  return 0;
}

}  // namespace heed::cpu
