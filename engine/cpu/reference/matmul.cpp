// The naive batched matrix product: three loops per matrix, accumulated in double.
// The fast kernel in engine/cpu/matmul.cpp is tested against it (ReferenceKernelsGuard).

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu::reference {

int gemm(int32_t dtype, int64_t batch, int64_t m, int64_t n, int64_t k, double alpha, heed_matrix a,
         heed_matrix b, double beta, heed_matrix c) {
  visit_floating(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto* pa = static_cast<const T*>(a.data);
    const auto* pb = static_cast<const T*>(b.data);
    auto* pc = static_cast<T*>(c.data);
    for (int64_t s = 0; s < batch; ++s) {
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          double total = 0;  // accumulate in double: the reference should be the more exact one
          for (int64_t p = 0; p < k; ++p) {
            total +=
                static_cast<double>(pa[s * a.batch_stride + i * a.row_stride + p * a.col_stride]) *
                static_cast<double>(pb[s * b.batch_stride + p * b.row_stride + j * b.col_stride]);
          }
          T& out = pc[s * c.batch_stride + i * c.row_stride + j * c.col_stride];
          out = static_cast<T>(alpha * total + (beta == 0 ? 0.0 : beta * static_cast<double>(out)));
        }
      }
    }
  });
  return 0;
}

}  // namespace heed::cpu::reference
