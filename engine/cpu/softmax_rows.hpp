// How a softmax kernel sees its rows: x contiguous (..., Q, K) as `count` rows of `keys`, and for
// each row how many leading keys are allowed and where its keep-mask row starts. Shared by the
// fast kernel and the reference kernel; the rules themselves are engine/kernel_rules.hpp's, which
// the CUDA kernel calls too.
#pragma once

#include <algorithm>
#include <cstdint>

#include "engine/backend.hpp"
#include "engine/cpu/strided.hpp"
#include "engine/kernel_rules.hpp"

namespace heed::cpu {

struct SoftmaxRows {
  int64_t count;    // rows
  int64_t keys;     // K, the softmax dim
  int64_t queries;  // Q = x.shape[-2], 1 for 1-D x
  const heed_softmax_mask* mask;
  const heed_view* keep_mask;  // nullptr when absent
  const heed_view* x;

  SoftmaxRows(const heed_view* x_view, const heed_softmax_mask* m)
      : count(row_count(x_view)),
        keys(x_view->shape[x_view->ndim - 1]),
        queries(x_view->ndim >= 2 ? x_view->shape[x_view->ndim - 2] : 1),
        mask(m),
        keep_mask(m != nullptr ? m->keep : nullptr),
        x(x_view) {
    if (keys == 0) count = 0;
  }

  // Rows per parallel task: enough work per task to amortise scheduling.
  int64_t grain() const { return std::max<int64_t>(1, 8192 / std::max<int64_t>(keys, 1)); }

  // Keys [0, limit) may be kept; later ones never are.
  int64_t limit(int64_t row) const {
    if (mask == nullptr) return keys;
    return rules::kept_key_limit(mask->valid_lens, mask->rows_per_valid_len, mask->causal, row,
                                 queries, keys);
  }

  // The keep-mask entries of this row: keep_row(r)[j * keep_step()] for key j.
  const bool* keep_row(int64_t row) const {
    return static_cast<const bool*>(keep_mask->data) +
           rules::keep_row_offset(x->shape, x->ndim, keep_mask->strides, row);
  }
  int64_t keep_step() const { return keep_mask->strides[x->ndim - 1]; }
};

}  // namespace heed::cpu
