// Rules that the op layer and every backend's kernels share, written once here: which keys a
// row of masked softmax keeps, and how a strided matrix is handed to a BLAS gemm. The CPU
// kernels, the naive reference kernels and the CUDA kernels (compiled by nvcc, hence C++17 and
// __host__ __device__) all call these functions, so the backends cannot drift apart.
#pragma once

#include <stdint.h>

#include "engine/backend.hpp"

#if defined(__CUDACC__)
#define HEED_HOST_DEVICE __host__ __device__
#else
#define HEED_HOST_DEVICE
#endif

namespace heed::rules {

// --- The mask rule (heed_softmax_mask in backend.hpp) ---------------------------------------

// Row `row` of scores (..., Q, K) may keep keys [0, limit) and never a later one: the least of
// K, its valid length, and with `causal` the bottom-right-aligned diagonal (query q sees keys
// j <= q + K - Q, so a Q = 1 decoding step sees every cached key). A keep mask then decides
// inside [0, limit).
HEED_HOST_DEVICE inline int64_t kept_key_limit(const int64_t* valid_lens,
                                               int64_t rows_per_valid_len, int32_t causal,
                                               int64_t row, int64_t queries, int64_t keys) {
  int64_t limit = keys;
  if (valid_lens != nullptr) {
    const int64_t valid = valid_lens[row / rows_per_valid_len];
    limit = valid < limit ? valid : limit;
  }
  if (causal != 0) {
    const int64_t diagonal = row % queries + (keys - queries) + 1;
    limit = diagonal < limit ? diagonal : limit;
  }
  return limit > 0 ? limit : 0;
}

// Where row `row`'s keep-mask entries start, in elements from keep.data, for contiguous
// scores of shape x_shape (x_ndim dims): key j of the row is at that offset + j * (keep's
// last stride). The keep view is broadcast to the scores' shape, so its strides may be 0.
HEED_HOST_DEVICE inline int64_t keep_row_offset(const int64_t* x_shape, int32_t x_ndim,
                                                const int64_t* keep_strides, int64_t row) {
  int64_t offset = 0;
  int64_t remainder = row;
  for (int32_t d = x_ndim - 2; d >= 0; --d) {
    offset += (remainder % x_shape[d]) * keep_strides[d];
    remainder /= x_shape[d];
  }
  return offset;
}

// --- The BLAS layout rule (heed_matrix in backend.hpp) --------------------------------------

// A BLAS gemm reads a row-major (rows x cols) operand in one of two layouts: plain (column
// stride 1, leading dimension = the row stride) or transposed (the transpose of a plain
// (cols x rows) matrix: row stride 1, leading dimension = the column stride). Anything else
// the op layer copies to contiguous first.
struct BlasLayout {
  bool transposed;
  int64_t leading_dimension;
};

HEED_HOST_DEVICE inline bool blas_readable(int64_t rows, int64_t cols, int64_t row_stride,
                                           int64_t col_stride) {
  const int64_t at_least_cols = cols > 1 ? cols : 1, at_least_rows = rows > 1 ? rows : 1;
  return (col_stride == 1 && row_stride >= at_least_cols) ||
         (row_stride == 1 && col_stride >= at_least_rows);
}

// The layout of a readable operand (plain wins when both apply, as for a 1 x 1 matrix).
HEED_HOST_DEVICE inline BlasLayout blas_layout(const heed_matrix& matrix, int64_t rows,
                                               int64_t cols) {
  const int64_t at_least_cols = cols > 1 ? cols : 1, at_least_rows = rows > 1 ? rows : 1;
  if (matrix.col_stride == 1 && matrix.row_stride >= at_least_cols) {
    return {false, matrix.row_stride};
  }
  return {true, matrix.col_stride > at_least_rows ? matrix.col_stride : at_least_rows};
}

// The leading dimension of the output c (rows x n, column stride 1).
HEED_HOST_DEVICE inline int64_t blas_output_leading_dimension(const heed_matrix& c, int64_t n) {
  const int64_t at_least_n = n > 1 ? n : 1;
  return c.row_stride > at_least_n ? c.row_stride : at_least_n;
}

}  // namespace heed::rules
