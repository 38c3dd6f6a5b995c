// CPU softmax, log_softmax and masked softmax over the last dim, one row per task.
//
// Each row: find how many leading keys are allowed (valid length, causal limit), then one pass
// for the max over the kept entries, one for exp and its sum, one to normalise. Masked entries
// are never exponentiated: they are written as exactly 0, and a row with nothing kept is all 0
// (never NaN, never uniform). The backward needs no mask: y is 0 wherever x was masked.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/cpu/fast_math.hpp"
#include "engine/cpu/kernels.hpp"
#include "engine/cpu/row_reductions.hpp"
#include "engine/cpu/softmax_rows.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu {

namespace {

// y[j] = exp(x[j] - shift) for j < n; returns the sum of the y[j]. Two simple loops (the map,
// then the sum over y, still in L1) vectorize where one fused loop does not.
template <typename T>
T exp_and_sum(const T* x, T shift, int64_t n, T* y) {
  for (int64_t j = 0; j < n; ++j) y[j] = vector_exp(x[j] - shift);
  return row_sum(y, n);
}

// One row whose kept keys are exactly [0, limit): the common case (valid lengths, causal).
template <typename T>
void softmax_prefix(const T* x, int64_t limit, int64_t k, T* y) {
  for (int64_t j = limit; j < k; ++j) y[j] = 0;
  if (limit == 0) return;
  const T shift = row_max(x, limit);
  const T inverse = T(1) / exp_and_sum(x, shift, limit, y);
  for (int64_t j = 0; j < limit; ++j) y[j] *= inverse;
}

// One row with an explicit keep mask over [0, limit).
template <typename T>
void softmax_with_keep(const T* x, const bool* keep, int64_t keep_step, int64_t limit, int64_t k,
                       T* y) {
  T shift = -std::numeric_limits<T>::infinity();  // max over kept entries
  bool any = false;
  for (int64_t j = 0; j < limit; ++j) {
    if (!keep[j * keep_step]) continue;
    if (!any || x[j] > shift) shift = x[j];
    any = true;
  }
  if (!any) {
    for (int64_t j = 0; j < k; ++j) y[j] = 0;
    return;
  }
  T total = 0;
  for (int64_t j = 0; j < limit; ++j) {
    y[j] = keep[j * keep_step] ? vector_exp(x[j] - shift) : T(0);
    total += y[j];
  }
  const T inverse = T(1) / total;
  for (int64_t j = 0; j < limit; ++j) y[j] *= inverse;
  for (int64_t j = limit; j < k; ++j) y[j] = 0;
}

template <typename T>
void log_softmax_row(const T* x, int64_t k, T* y) {
  const T shift = row_max(x, k);
  T total = 0;
  for (int64_t j = 0; j < k; ++j) total += vector_exp(x[j] - shift);
  const T log_total = shift + std::log(total);
  for (int64_t j = 0; j < k; ++j) y[j] = x[j] - log_total;
}

// Asks for the first n entries of the next row of x while this one is computed: the max pass is
// the first read of a row from memory, and without this it waits for every cache line of it in
// turn. At most 4 KiB ahead, so that a long row (a vocabulary's logits) does not push the
// current one out of cache.
template <typename T>
void prefetch_row(const T* row, int64_t n) {
  constexpr int64_t kPerLine = 64 / sizeof(T), kAhead = 4096 / sizeof(T);
  for (int64_t j = 0; j < std::min(n, kAhead); j += kPerLine) __builtin_prefetch(row + j);
}

// The row loops also get an AVX2 copy (fast_math.hpp): twice the vector width doubles the exp
// throughput, which is what bounds the forward pass on short rows.
template <typename T>
HEED_ALSO_FOR_AVX2 void forward_rows(const SoftmaxRows& rows, const T* in, bool log, int64_t begin,
                                     int64_t end, T* out) {
  for (int64_t r = begin; r < end; ++r) {
    const T* xr = in + r * rows.keys;
    T* yr = out + r * rows.keys;
    if (r + 1 < end) prefetch_row(xr + rows.keys, log ? rows.keys : rows.limit(r + 1));
    if (log) {
      log_softmax_row(xr, rows.keys, yr);
    } else if (rows.keep_mask == nullptr) {
      softmax_prefix(xr, rows.limit(r), rows.keys, yr);
    } else {
      softmax_with_keep(xr, rows.keep_row(r), rows.keep_step(), rows.limit(r), rows.keys, yr);
    }
  }
}

template <typename T>
HEED_ALSO_FOR_AVX2 void backward_rows(const T* y, const T* dy, int64_t k, bool log, int64_t begin,
                                      int64_t end, T* dx) {
  for (int64_t r = begin; r < end; ++r) {
    const T* yr = y + r * k;
    const T* dyr = dy + r * k;
    T* dxr = dx + r * k;
    if (log) {  // dx = dy - softmax(x) * sum(dy), and softmax(x) = exp(y)
      const T total = row_sum(dyr, k);
      for (int64_t j = 0; j < k; ++j) dxr[j] = dyr[j] - vector_exp(yr[j]) * total;
    } else {  // dx = y * (dy - sum(dy * y))
      const T weighted = row_dot(dyr, yr, k);
      for (int64_t j = 0; j < k; ++j) dxr[j] = yr[j] * (dyr[j] - weighted);
    }
  }
}

template <typename T>
void forward(const heed_view* x, const heed_softmax_mask* mask, bool log, const heed_view* y) {
  const SoftmaxRows rows(x, mask);
  const T* in = typed<T>(x);
  T* out = typed<T>(y);
  parallel_range(rows.count, rows.grain(),
                 [&](int64_t begin, int64_t end) { forward_rows(rows, in, log, begin, end, out); });
}

template <typename T>
void backward(const heed_view* y, const heed_view* dy, bool log, const heed_view* dx) {
  const int64_t k = y->shape[y->ndim - 1];
  const int64_t count = k == 0 ? 0 : row_count(y);
  const T* py = typed<T>(y);
  const T* pdy = typed<T>(dy);
  T* pdx = typed<T>(dx);
  parallel_range(
      count, std::max<int64_t>(1, 8192 / std::max<int64_t>(k, 1)),
      [&](int64_t begin, int64_t end) { backward_rows(py, pdy, k, log, begin, end, pdx); });
}

}  // namespace

int softmax_forward(const heed_view* x, const heed_softmax_mask* mask, int32_t log,
                    const heed_view* y) {
  visit_floating(x->dtype, [&](auto zero) { forward<decltype(zero)>(x, mask, log != 0, y); });
  return 0;
}

int softmax_backward(const heed_view* y, const heed_view* dy, int32_t log, const heed_view* dx) {
  visit_floating(y->dtype, [&](auto zero) { backward<decltype(zero)>(y, dy, log != 0, dx); });
  return 0;
}

}  // namespace heed::cpu
