// The naive row reductions: sum, max, min, argmax and argmin with one plain loop per row.
// The fast kernel in engine/cpu/reduce.cpp is tested against it (ReferenceKernelsGuard).

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu::reference {

int reduce_rows(int32_t op, const heed_view* x, const heed_view* out) {
  if (op < 0 || op >= HEED_REDUCE_OP_COUNT)
    return report_error("reduce_rows", "unknown op code", op);
  const int64_t rows = x->shape[0], n = x->shape[1];
  visit_any(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, bool>) {
      for (int64_t r = 0; r < rows; ++r) {
        const T* row = typed<T>(x) + r * n;
        if (op == HEED_SUM) {
          T total = 0;
          for (int64_t j = 0; j < n; ++j) total += row[j];
          typed<T>(out)[r] = total;
          continue;
        }
        int64_t best = 0;
        for (int64_t j = 1; j < n; ++j) {
          const bool better =
              (op == HEED_MAX || op == HEED_ARGMAX) ? row[j] > row[best] : row[j] < row[best];
          if (better) best = j;
        }
        if (op == HEED_ARGMAX || op == HEED_ARGMIN) {
          typed<int64_t>(out)[r] = best;
        } else {
          typed<T>(out)[r] = row[best];
        }
      }
    }
  });
  return 0;
}

}  // namespace heed::cpu::reference
