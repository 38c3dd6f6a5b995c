// CUDA batched matrix products through cuBLAS (strided batched gemm). cuBLAS is column-major, so
// the row-major C = A B is computed as C^T = B^T A^T, which needs no copies: a row-major matrix
// is its transpose in column-major order. float32 runs in full precision unless HEED_ALLOW_TF32=1
// allows the tensor cores' TF32 (about 3 decimal digits, much faster).
#include <cublas_v2.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"
#include "engine/kernel_rules.hpp"

namespace heed::cuda {

namespace {

cublasHandle_t handle() {
  static cublasHandle_t h = nullptr;
  static std::once_flag created;
  std::call_once(created, [] {
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) {
      h = nullptr;
      return;
    }
    const char* tf32 = std::getenv("HEED_ALLOW_TF32");
    const bool allow = tf32 != nullptr && std::string(tf32) == "1";
    cublasSetMathMode(h, allow ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
  });
  return h;
}

// A row-major operand (rows x cols) seen by cuBLAS (the layout rule is rules::blas_layout, shared
// with the CPU backend): read column-major, a plain operand's storage is its transpose (no flag
// needed for C^T = B^T A^T) and a transposed one's is the matrix itself (flag T).
struct Operand {
  cublasOperation_t op;  // what turns the storage into the operand's transpose
  int64_t leading;
};

Operand operand(const heed_matrix& m, int64_t rows, int64_t cols) {
  const rules::BlasLayout layout = rules::blas_layout(m, rows, cols);
  return {layout.transposed ? CUBLAS_OP_T : CUBLAS_OP_N, layout.leading_dimension};
}

}  // namespace

int gemm(int32_t dtype, int64_t batch, int64_t m, int64_t n, int64_t k, double alpha, heed_matrix a,
         heed_matrix b, double beta, heed_matrix c) {
  if (batch == 0 || m == 0 || n == 0) return 0;
  cublasHandle_t h = handle();
  if (h == nullptr) {
    set_error("cuBLAS could not be initialised");
    return 1;
  }
  const Operand oa = operand(a, m, k), ob = operand(b, k, n);
  const int64_t ldc = rules::blas_output_leading_dimension(c, n);
  cublasStatus_t status;
  if (dtype == HEED_FLOAT64) {
    const double al = alpha, be = beta;
    status = cublasDgemmStridedBatched(
        h, ob.op, oa.op, int(n), int(m), int(k), &al, static_cast<const double*>(b.data),
        int(ob.leading), b.batch_stride, static_cast<const double*>(a.data), int(oa.leading),
        a.batch_stride, &be, static_cast<double*>(c.data), int(ldc), c.batch_stride, int(batch));
  } else {
    const float al = float(alpha), be = float(beta);
    status = cublasSgemmStridedBatched(
        h, ob.op, oa.op, int(n), int(m), int(k), &al, static_cast<const float*>(b.data),
        int(ob.leading), b.batch_stride, static_cast<const float*>(a.data), int(oa.leading),
        a.batch_stride, &be, static_cast<float*>(c.data), int(ldc), c.batch_stride, int(batch));
  }
  if (status != CUBLAS_STATUS_SUCCESS) {
    set_error(std::string("cuBLAS gemm failed: ") + cublasGetStatusString(status));
    return 1;
  }
  return 0;
}

}  // namespace heed::cuda
