// CPU batched matrix product through OpenBLAS.
//
// Small matrices in a batch (attention scores, per-head products) run as a oneTBB loop over the
// batch, each entry one single-threaded sgemm/dgemm call: measured on these machines this beats
// letting OpenBLAS thread each small product. One large product instead uses OpenBLAS's own
// threads. A few rows times a large matrix (a decoding step) is bound by reading the matrix: it
// is read once, by gemv or by a loop that meets every row with each weight row. Transposed
// operands are passed as BLAS transpose flags, never copied.
#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/cpu/blas.hpp"
#include "engine/cpu/fast_math.hpp"  // HEED_ALSO_FOR_AVX2
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
// ... unless its right operand is this large (in elements, 2 MiB of floats: more than a core's
// cache): a product of a few rows with a big weight matrix (a decoding step: (1, 768) x
// (768, 768) and larger) is bound by reading the matrix, and two cores read memory faster than
// one.
constexpr int64_t kStreamedOperand = int64_t{1} << 19;

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
  gemm_row_major<T>(oa.transpose, ob.transpose, m, n, k, alpha, a, oa.leading_dimension, b,
                    ob.leading_dimension, beta, c, ldc);
}

// One row times a matrix, c (1 x n) = alpha a (1 x k) b (k x n) + beta c, as a matrix-vector
// product: sgemm would first pack all of b into a scratch buffer, reading and writing it once
// more, and a decoding step is bound by reading its weights. Used for a lone product with a large
// matrix only: small ones (a bias gradient's row of ones times a small gradient) and batches of
// one-row products (attention's per-sequence queries) stay on sgemm. b is plain (c = b^T a) or the
// transpose of a plain (n x k) matrix w (c = w a).
template <typename T>
void blas_gemv(BlasOperand ob, int64_t n, int64_t k, T alpha, const T* a, int64_t a_step,
               const T* b, T beta, T* c) {
  const bool plain = ob.transpose == CblasNoTrans;
  const auto rows = static_cast<blasint>(plain ? k : n), cols = static_cast<blasint>(plain ? n : k);
  const CBLAS_TRANSPOSE op = plain ? CblasTrans : CblasNoTrans;
  const auto step = static_cast<blasint>(a_step);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemv(CblasRowMajor, op, rows, cols, alpha, b, ob.leading_dimension, a, step, beta, c, 1);
  } else {
    cblas_dgemv(CblasRowMajor, op, rows, cols, alpha, b, ob.leading_dimension, a, step, beta, c, 1);
  }
}

// A few rows times a large matrix, c (m x n) = alpha a (m x k) b (k x n) + beta c, for m up to
// kFewRows (a decoding step, of one prompt or a batch). sgemm would pack all of b into a scratch
// buffer on every call, reading and writing it once more, and such a step is bound by reading
// its weights. Instead b is read once, in tiles of whole output columns that stay in a core's
// cache, the tiles spread over the threads:
//   - b the transpose of a weight w (n x k), as Linear's x @ w^T: each row of w is loaded once
//     and meets every row of a (rows_times_weight_rows);
//   - b plain (k x n): one BLAS gemv per row of a over the tile, which the first one brought into
//     the cache.
constexpr int64_t kFewRows = 16;
constexpr int64_t kTileBytes = int64_t{256} << 10;

// Eight values of T as one vector (GCC's and clang's vector extension; eight floats fill an AVX2
// register). Arithmetic on it is lane by lane.
template <typename T>
struct EightLanesOf;
template <>
struct EightLanesOf<float> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct EightLanesOf<double> {
  typedef double type __attribute__((vector_size(64)));
};
template <typename T>
using EightLanes = typename EightLanesOf<T>::type;

// c[r][j] = alpha * sum_p a[r][p] w[j][p] + beta c[r][j], for R rows of a (contiguous, each k
// long) and the weight rows j in [first, last). Each eight values of a weight row are loaded once
// and multiply all R rows; R is fixed at compile time so that the lane sums stay in registers.
// A fused multiply-add waits for the one before it on the same sum, so one or two rows keep
// Chains = 4 / R sums each (every chain takes every Chains-th group of eight values of p): four
// independent additions in flight keep up with memory. The tile's weight rows are contiguous,
// one stream the hardware prefetcher follows; with four rows or more, each weight row's eight
// values meet more arithmetic, and fetching the row kAhead rows ahead by hand kept the stream
// fed (measured on a batch-8 GPT-2 step: about a fifth faster; for one row it was slower).
template <int R, typename T>
HEED_ALSO_FOR_AVX2 void rows_times_weight_rows(const T* a, int64_t k, const T* w, int64_t ldw,
                                               int64_t first, int64_t last, T alpha, T beta, T* c,
                                               int64_t ldc) {
  constexpr int Chains = R >= 4 ? 1 : 4 / R;
  constexpr int64_t kAhead = 4;  // weight rows
  constexpr int64_t Step = 8 * Chains;
  for (int64_t j = first; j < last; ++j) {
    const T* wj = w + j * ldw;
    EightLanes<T> sums[R][Chains] = {};
    int64_t p = 0;
    for (; p + Step <= k; p += Step) {
      if (R >= 4 && j + kAhead < last) __builtin_prefetch(wj + kAhead * ldw + p);
      for (int chain = 0; chain < Chains; ++chain) {
        EightLanes<T> weights, values;
        std::memcpy(&weights, wj + p + 8 * chain, sizeof weights);  // an unaligned vector load
        for (int r = 0; r < R; ++r) {
          std::memcpy(&values, a + r * k + p + 8 * chain, sizeof values);
          sums[r][chain] += values * weights;
        }
      }
    }
    for (; p + 8 <= k; p += 8) {  // groups of eight left over: the first chain takes them
      EightLanes<T> weights, values;
      std::memcpy(&weights, wj + p, sizeof weights);
      for (int r = 0; r < R; ++r) {
        std::memcpy(&values, a + r * k + p, sizeof values);
        sums[r][0] += values * weights;
      }
    }
    for (int r = 0; r < R; ++r) {
      T total = 0;
      for (int64_t q = p; q < k; ++q) total += a[r * k + q] * wj[q];
      for (int chain = 0; chain < Chains; ++chain) {
        for (int l = 0; l < 8; ++l) total += sums[r][chain][l];
      }
      T& out = c[r * ldc + j];
      out = beta == T(0) ? alpha * total : alpha * total + beta * out;  // beta 0: c may be unset
    }
  }
}

template <typename T>
void few_rows_gemm(const heed_matrix& a, BlasOperand ob, int64_t m, int64_t n, int64_t k, T alpha,
                   const T* pa, const T* pb, T beta, T* pc, int64_t ldc) {
  const int64_t tile = std::max<int64_t>(1, kTileBytes / (k * int64_t{sizeof(T)}));  // columns
  const int64_t tiles = (n + tile - 1) / tile;
  const bool plain = ob.transpose == CblasNoTrans;  // b (k x n); else b is w^T, w (n x k)
  // a's rows, contiguous (m * k elements: a few KiB to a few hundred).
  std::vector<T> packed;
  const T* rows = pa;
  if (a.col_stride != 1 || a.row_stride != k) {
    packed.resize(static_cast<size_t>(m * k));
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t p = 0; p < k; ++p) {
        packed[static_cast<size_t>(r * k + p)] = pa[r * a.row_stride + p * a.col_stride];
      }
    }
    rows = packed.data();
  }
  const SingleThreadedBlas one_thread_each;
  parallel_range(tiles, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t first = t * tile, last = std::min(n, first + tile);
      if (plain) {
        for (int64_t r = 0; r < m; ++r) {
          blas_gemv<T>(ob, last - first, k, alpha, rows + r * k, 1, pb + first, beta,
                       pc + r * ldc + first);
        }
        continue;
      }
      // Rows of a in groups of 8, then 4, 2 and 1, over the tile's weight rows.
      const int64_t ldw = ob.leading_dimension;
      for (int64_t r = 0; r < m;) {
        const T* group = rows + r * k;
        T* out = pc + r * ldc;
        const int64_t left = m - r;
        if (left >= 8) {
          rows_times_weight_rows<8>(group, k, pb, ldw, first, last, alpha, beta, out, ldc);
          r += 8;
        } else if (left >= 4) {
          rows_times_weight_rows<4>(group, k, pb, ldw, first, last, alpha, beta, out, ldc);
          r += 4;
        } else if (left >= 2) {
          rows_times_weight_rows<2>(group, k, pb, ldw, first, last, alpha, beta, out, ldc);
          r += 2;
        } else {
          rows_times_weight_rows<1>(group, k, pb, ldw, first, last, alpha, beta, out, ldc);
          r += 1;
        }
      }
    }
  });
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
    if (m == 1 && batch == 1 && k * n >= kStreamedOperand) {  // a's row: p at p * col_stride
      blas_gemv<T>(ob, n, k, alpha, pa + i * a.batch_stride, a.col_stride, pb + i * b.batch_stride,
                   beta, pc + i * c.batch_stride);
      return;
    }
    blas_gemm<T>(oa, ob, m, n, k, alpha, pa + i * a.batch_stride, pb + i * b.batch_stride, beta,
                 pc + i * c.batch_stride, ldc);
  };
  const bool large = m * n * k >= kLargeProduct;
  const bool streams_weights = k * n >= kStreamedOperand;
  // A few rows times a large matrix; one row times a plain one stays a single gemv (in one()).
  if (batch == 1 && m <= kFewRows && streams_weights && (m >= 2 || ob.transpose == CblasTrans)) {
    few_rows_gemm<T>(a, ob, m, n, k, alpha, pa, pb, beta, pc, ldc);
    return;
  }
  if (batch == 1 && !large && !streams_weights && m * n * k < kThreadedSingleProduct &&
      num_threads() > 1) {
    const SingleThreadedBlas one_thread;
    one(0);
    return;
  }
  if (batch == 1 || large || num_threads() == 1) {
    for (int64_t i = 0; i < batch; ++i) one(i);  // OpenBLAS threads each product itself
    return;
  }
  // Many small products: one thread per product, OpenBLAS single-threaded inside.
  const SingleThreadedBlas one_thread_each;
  parallel_range(batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) one(i);
  });
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
