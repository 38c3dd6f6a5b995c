// CPU batched matrix product through OpenBLAS.
//
// Small matrices in a batch (attention scores, per-head products) run as a oneTBB loop over the
// batch, each entry one single-threaded sgemm/dgemm call: measured on these machines this beats
// letting OpenBLAS thread each small product. One large product instead uses OpenBLAS's own
// threads. Transposed operands are passed as BLAS transpose flags, never copied.
#include <cblas.h>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"
#include "engine/kernel_rules.hpp"

namespace heed::cpu {

namespace {

// Products with at least this many multiply-adds are big enough for OpenBLAS's own threads.
constexpr int64_t kLargeProduct = int64_t{1} << 25;
// A single product below this runs on one thread: waking OpenBLAS's pool for it costs more than
// the second core gains (measured on GRU steps: 4M multiply-adds take about 40 microseconds).
constexpr int64_t kThreadedSingleProduct = int64_t{1} << 22;

// A row-major operand (rows x cols) as cblas takes it: plain, or the transpose of a plain
// matrix (the layout rule is rules::blas_layout, shared with the CUDA backend).
struct BlasOperand {
  CBLAS_TRANSPOSE transpose;
  blasint leading_dimension;
};

BlasOperand blas_operand(const heed_matrix& matrix, int64_t rows, int64_t cols) {
  const rules::BlasLayout layout = rules::blas_layout(matrix, rows, cols);
  return {layout.transposed ? CblasTrans : CblasNoTrans,
          static_cast<blasint>(layout.leading_dimension)};
}

template <typename T>
void blas_gemm(BlasOperand oa, BlasOperand ob, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
               const T* b, T beta, T* c, int64_t ldc) {
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, oa.transpose, ob.transpose, static_cast<blasint>(m),
                static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, oa.leading_dimension, b,
                ob.leading_dimension, beta, c, static_cast<blasint>(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, oa.transpose, ob.transpose, static_cast<blasint>(m),
                static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, oa.leading_dimension, b,
                ob.leading_dimension, beta, c, static_cast<blasint>(ldc));
  }
}

template <typename T>
void batched_gemm(int64_t batch, int64_t m, int64_t n, int64_t k, T alpha, heed_matrix a,
                  heed_matrix b, T beta, heed_matrix c) {
  const BlasOperand oa = blas_operand(a, m, k);
  const BlasOperand ob = blas_operand(b, k, n);
  const auto* pa = static_cast<const T*>(a.data);
  const auto* pb = static_cast<const T*>(b.data);
  auto* pc = static_cast<T*>(c.data);
  const int64_t ldc = rules::blas_output_leading_dimension(c, n);
  auto one = [&](int64_t i) {
    blas_gemm<T>(oa, ob, m, n, k, alpha, pa + i * a.batch_stride, pb + i * b.batch_stride, beta,
                 pc + i * c.batch_stride, ldc);
  };
  const bool large = m * n * k >= kLargeProduct;
  if (batch == 1 && !large && m * n * k < kThreadedSingleProduct && num_threads() > 1) {
    const int32_t blas_threads = num_threads();
    openblas_set_num_threads(1);
    one(0);
    openblas_set_num_threads(blas_threads);
    return;
  }
  if (batch == 1 || large || num_threads() == 1) {
    for (int64_t i = 0; i < batch; ++i) one(i);  // OpenBLAS threads each product itself
    return;
  }
  // Many small products: one thread per product, OpenBLAS single-threaded inside.
  const int32_t blas_threads = num_threads();
  openblas_set_num_threads(1);
  parallel_range(batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) one(i);
  });
  openblas_set_num_threads(blas_threads);
}

}  // namespace

int gemm(int32_t dtype, int64_t batch, int64_t m, int64_t n, int64_t k, double alpha, heed_matrix a,
         heed_matrix b, double beta, heed_matrix c) {
  if (batch == 0 || m == 0 || n == 0) return 0;
  visit_floating(dtype, [&](auto zero) {
    using T = decltype(zero);
    batched_gemm<T>(batch, m, n, k, static_cast<T>(alpha), a, b, static_cast<T>(beta), c);
  });
  return 0;
}

}  // namespace heed::cpu
