// Helpers shared by the CPU kernels: walking strided views, parallel loops (dtype dispatch comes
// from engine/dtype_dispatch.hpp).
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "engine/backend.hpp"
#include "engine/dtype_dispatch.hpp"

namespace heed::cpu {

// Rows of a contiguous view seen as (rows, last dim): the product of all dims but the last.
inline int64_t row_count(const heed_view* x) {
  int64_t rows = 1;
  for (int d = 0; d + 1 < x->ndim; ++d) rows *= x->shape[d];
  return rows;
}

template <typename T>
T* typed(const heed_view* view) {
  return static_cast<T*>(view->data);
}

// Runs body(begin, end) over [0, count) in chunks of at least `grain`, on the oneTBB pool;
// serially when the whole range is one chunk.
template <typename Body>
void parallel_range(int64_t count, int64_t grain, Body&& body) {
  if (count <= grain) {
    if (count > 0) body(int64_t{0}, count);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, count, grain),
                    [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); });
}

// N views of one shape walked in step. Size-1 dims are dropped and neighbouring dims merged
// wherever every view is contiguous across them, so contiguous views become one long row.
template <size_t N>
struct StridedWalk {
  int ndim = 0;
  int64_t numel = 1;
  int64_t shape[HEED_MAX_DIMS] = {};
  int64_t strides[N][HEED_MAX_DIMS] = {};

  explicit StridedWalk(const std::array<const heed_view*, N>& views) {
    const heed_view& first = *views[0];
    for (int d = 0; d < first.ndim; ++d) {
      numel *= first.shape[d];
      if (first.shape[d] == 1) continue;
      const bool merges = ndim > 0 && [&] {
        for (size_t k = 0; k < N; ++k) {
          if (strides[k][ndim - 1] != views[k]->strides[d] * first.shape[d]) return false;
        }
        return true;
      }();
      if (merges) {
        shape[ndim - 1] *= first.shape[d];
        for (size_t k = 0; k < N; ++k) strides[k][ndim - 1] = views[k]->strides[d];
      } else {
        shape[ndim] = first.shape[d];
        for (size_t k = 0; k < N; ++k) strides[k][ndim] = views[k]->strides[d];
        ++ndim;
      }
    }
  }

  // Calls row(offsets, count, steps) for consecutive runs along the last dim that cover the
  // flattened elements [begin, end): element i of a run sits at offsets[k] + i * steps[k].
  template <typename Row>
  void for_each_run(int64_t begin, int64_t end, Row&& row) const {
    std::array<int64_t, N> offsets{};
    std::array<int64_t, N> steps{};
    if (ndim == 0) {
      if (begin < end) row(offsets, int64_t{1}, steps);
      return;
    }
    const int last = ndim - 1;
    int64_t index[HEED_MAX_DIMS] = {};
    int64_t remainder = begin;
    for (int d = last; d >= 0; --d) {
      index[d] = remainder % shape[d];
      remainder /= shape[d];
      for (size_t k = 0; k < N; ++k) offsets[k] += index[d] * strides[k][d];
    }
    for (size_t k = 0; k < N; ++k) steps[k] = strides[k][last];
    for (int64_t position = begin; position < end;) {
      const int64_t count = std::min(shape[last] - index[last], end - position);
      row(offsets, count, steps);
      position += count;
      index[last] += count;
      for (size_t k = 0; k < N; ++k) offsets[k] += count * strides[k][last];
      // Carry into outer dims, like an odometer.
      for (int d = last; d > 0 && index[d] == shape[d]; --d) {
        for (size_t k = 0; k < N; ++k) offsets[k] += strides[k][d - 1] - index[d] * strides[k][d];
        index[d] = 0;
        ++index[d - 1];
      }
    }
  }

  // for_each_run over all elements, split across threads when there are many.
  template <typename Row>
  void for_each_run_parallel(Row&& row) const {
    constexpr int64_t kGrain = 32768;
    parallel_range(numel, kGrain,
                   [&](int64_t begin, int64_t end) { for_each_run(begin, end, row); });
  }
};

}  // namespace heed::cpu
