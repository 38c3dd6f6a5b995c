// OpenBLAS's row-major sgemm and dgemm behind one template, and a scope that keeps OpenBLAS on
// one thread: for kernels that spread their own work over the threads (oneTBB), each task
// calling BLAS on its own core.
#pragma once

#include <cblas.h>

#include <cstdint>
#include <type_traits>

#include "engine/cpu/kernels.hpp"  // num_threads

namespace heed::cpu {

// c (m x n) = alpha op(a) (m x k) op(b) (k x n) + beta c, every matrix row-major; op(a) is a or
// a's transpose (ta == CblasTrans), and likewise for b.
template <typename T>
void gemm_row_major(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k,
                    T alpha, const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c,
                    int64_t ldc) {
  const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n), K = static_cast<blasint>(k);
  const auto A = static_cast<blasint>(lda), B = static_cast<blasint>(ldb),
             C = static_cast<blasint>(ldc);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, a, A, b, B, beta, c, C);
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, a, A, b, B, beta, c, C);
  }
}

// While alive, OpenBLAS runs each call on the calling thread only; the thread count set by
// set_num_threads comes back at the end of the scope.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() { openblas_set_num_threads(1); }
  ~SingleThreadedBlas() { openblas_set_num_threads(num_threads()); }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
};

}  // namespace heed::cpu
