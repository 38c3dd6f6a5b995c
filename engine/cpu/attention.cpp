// Fused scaled dot-product attention on the CPU, forward and backward, in tiles: the (L, S)
// scores of a head are never held whole. See docs/attention.md, "Fused attention".
//
// forward, per (batch, head) and block of kQueryBlock queries, over blocks of kKeyBlock keys up
// to the block's last causal key, with an online softmax (running max m and sum l per row):
//   s = scale q k^T                            (rows x keys, one sgemm)
//   m' = max(m, max_j s_j);  l = l e^(m - m') + sum_j e^(s_j - m');  o = o e^(m - m') + e^(s - m')
//   v
// then o /= l and logsumexp = m + log l, which the backward keeps instead of the probabilities.
// backward, per (batch, head), with p = e^(s - logsumexp) recomputed tile by tile:
//   dv += p^T do;  dp = do v^T;  ds = p (dp - rowsum(do o));  dq += scale ds k;  dk += scale ds^T q
// Masked keys (past the causal limit, or dropped by key_keep) get p = 0, so they add nothing to
// any sum; a row that keeps no key gets o = 0 and no gradient. The naive twin is
// engine/cpu/reference/attention.cpp.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/cpu/fast_math.hpp"
#include "engine/cpu/kernels.hpp"
#include "engine/cpu/row_reductions.hpp"
#include "engine/cpu/strided.hpp"
#include "engine/kernel_rules.hpp"

namespace heed::cpu {

namespace {

constexpr int64_t kQueryBlock = 64;
constexpr int64_t kKeyBlock = 128;

// Rows of a (B, H, T, d) view with a unit last stride: row t of head (b, h).
template <typename T>
struct Rows {
  T* data;
  int64_t batch_stride, head_stride, row_stride;
  T* row(int64_t b, int64_t h, int64_t t) const {
    return data + b * batch_stride + h * head_stride + t * row_stride;
  }
};
// The op layer passes rows that do not overlap (row stride >= row length) unless there is one
// row, whose stride is never stepped over: BLAS still wants it at least the row's length.
template <typename T>
Rows<T> rows_of(const heed_view* view) {
  const int64_t row_stride = view->shape[2] <= 1
                                 ? std::max<int64_t>({view->strides[2], view->shape[3], 1})
                                 : view->strides[2];
  return {static_cast<T*>(view->data), view->strides[0], view->strides[1], row_stride};
}

// c (m, n; leading dimension ldc) = alpha * op(a) op(b) + beta * c, row-major, one thread.
template <typename T>
void tile_gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha,
               const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const auto ta = transpose_a ? CblasTrans : CblasNoTrans;
  const auto tb = transpose_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda),
                b, blasint(ldb), beta, c, blasint(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda),
                b, blasint(ldb), beta, c, blasint(ldc));
  }
}

// What every tile needs to know about the problem.
struct Problem {
  int64_t B, H, L, S, d, e;
  int32_t causal;
  const bool* key_keep;  // (B, S) or nullptr
  // Query t keeps keys [0, limit) at most (the causal diagonal, bottom-right aligned).
  int64_t key_limit(int64_t t) const { return rules::kept_key_limit(nullptr, 1, causal, t, L, S); }
  // How many of the tile's keys [k0, k0 + cols) query t may see before its causal limit.
  int64_t visible_in_tile(int64_t t, int64_t k0, int64_t cols) const {
    return std::clamp<int64_t>(key_limit(t) - k0, 0, cols);
  }
  // The tile's part of key_keep for batch row b, or nullptr when every key is kept.
  const bool* keep_in_tile(int64_t b, int64_t k0) const {
    return key_keep != nullptr ? key_keep + b * S + k0 : nullptr;
  }
};

// The largest s[j] over the kept j < n, and whether any is kept.
template <typename T>
bool kept_max(const T* s, int64_t n, const bool* keep, T& max) {
  if (keep == nullptr) {  // every key kept: a plain row scan, in vector lanes
    if (n > 0) max = row_max(s, n);
    return n > 0;
  }
  bool any = false;
  for (int64_t j = 0; j < n; ++j) {
    if (!keep[j]) continue;
    max = any ? std::max(max, s[j]) : s[j];
    any = true;
  }
  return any;
}

// s[j] = e^(s[j] - shift) for the kept j < n, and 0 for the others up to cols. Without a keep
// mask the loop has no branch and vectorizes.
template <typename T>
void exp_kept(T* s, int64_t n, int64_t cols, const bool* keep, T shift) {
  if (keep == nullptr) {
    for (int64_t j = 0; j < n; ++j) s[j] = vector_exp(s[j] - shift);
  } else {
    for (int64_t j = 0; j < n; ++j) s[j] = keep[j] ? vector_exp(s[j] - shift) : T(0);
  }
  std::fill(s + n, s + cols, T(0));
}

// The online softmax over one tile of scores (rows x cols, kKeyBlock apart) of queries from q0
// and keys from k0: each row's kept scores become e^(s - m') with m' its new running max, its
// running sum l moves on, and its output row so far is rescaled by e^(m - m'). Built also for
// AVX2 (HEED_ALSO_FOR_AVX2): in the baseline build these scans and exponentials drew more of a
// profile's samples than the tile's two products (GPT-2's (1, 12, 503, 64) causal forward).
template <typename T>
HEED_ALSO_FOR_AVX2 void online_softmax_step(const Problem& p, T* scores, int64_t rows, int64_t cols,
                                            int64_t q0, int64_t k0, T* running_max, T* running_sum,
                                            Rows<T> out, int64_t b, int64_t h) {
  const bool* keep = p.keep_in_tile(b, k0);
  for (int64_t r = 0; r < rows; ++r) {
    T* s = scores + r * kKeyBlock;
    const int64_t t = q0 + r;
    const int64_t visible = p.visible_in_tile(t, k0, cols);
    T block_max = 0;
    if (!kept_max(s, visible, keep, block_max)) {  // nothing kept here: p = 0, m, l unchanged
      std::fill_n(s, cols, T(0));
      continue;
    }
    const bool first = running_sum[r] == T(0);
    const T new_max = first ? block_max : std::max(running_max[r], block_max);
    const T rescale = first ? T(0) : vector_exp(running_max[r] - new_max);
    exp_kept(s, visible, cols, keep, new_max);
    running_sum[r] = running_sum[r] * rescale + row_sum(s, visible);
    running_max[r] = new_max;
    if (!first) {
      T* o = out.row(b, h, t);
      for (int64_t c = 0; c < p.e; ++c) o[c] *= rescale;
    }
  }
}

// The backward's elementwise work on one tile (rows x cols, kKeyBlock apart), also built for
// AVX2 as the forward's online_softmax_step:
//   p = e^(s - logsumexp) for the kept keys, 0 for the others (s = scale q k^T, in place)
template <typename T>
HEED_ALSO_FOR_AVX2 void probabilities_from_scores(const Problem& p, T* scores, int64_t rows,
                                                  int64_t cols, int64_t q0, int64_t k0,
                                                  const T* logsumexp, int64_t b) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = q0 + r;
    exp_kept(scores + r * kKeyBlock, p.visible_in_tile(t, k0, cols), cols, p.keep_in_tile(b, k0),
             logsumexp[t]);
  }
}

//   ds = p (dp - rowsum(do o)), dp in place; do_dot_o holds rowsum(do o) of the tile's rows
template <typename T>
HEED_ALSO_FOR_AVX2 void score_gradient(const T* probabilities, T* dp, int64_t rows, int64_t cols,
                                       const T* do_dot_o) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* pr = probabilities + r * kKeyBlock;
    T* ds = dp + r * kKeyBlock;
    for (int64_t j = 0; j < cols; ++j) ds[j] = pr[j] * (ds[j] - do_dot_o[r]);
  }
}

// Runs body(b, h) for every head, with OpenBLAS single-threaded inside (oneTBB shares the heads).
template <typename Body>
void for_each_head(const Problem& p, Body&& body) {
  const int32_t blas_threads = num_threads();
  openblas_set_num_threads(1);
  parallel_range(p.B * p.H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) body(i / p.H, i % p.H);
  });
  openblas_set_num_threads(blas_threads);
}

template <typename T>
void forward_head(const Problem& p, T scale, Rows<const T> q, Rows<const T> k, Rows<const T> v,
                  Rows<T> out, T* logsumexp, int64_t b, int64_t h) {
  // One tile of s, then of p: as many rows as a query block has (a decoding step has one; zeroing
  // a whole block's 32 KiB for it, for every head, took longer than its arithmetic).
  std::vector<T> scores(size_t(std::min(kQueryBlock, p.L) * kKeyBlock));
  std::vector<T> row_max(kQueryBlock), row_sum(kQueryBlock);
  for (int64_t q0 = 0; q0 < p.L; q0 += kQueryBlock) {
    const int64_t rows = std::min(kQueryBlock, p.L - q0);
    const int64_t keys_needed = p.key_limit(q0 + rows - 1);  // the block's last row sees most
    std::fill(row_max.begin(), row_max.end(), T(0));
    std::fill(row_sum.begin(), row_sum.end(), T(0));
    for (int64_t r = 0; r < rows; ++r) std::fill_n(out.row(b, h, q0 + r), p.e, T(0));
    for (int64_t k0 = 0; k0 < keys_needed; k0 += kKeyBlock) {
      const int64_t cols = std::min(kKeyBlock, keys_needed - k0);
      // s = scale q k^T: (rows, d) x (d, cols)
      tile_gemm<T>(false, true, rows, cols, p.d, scale, q.row(b, h, q0), q.row_stride,
                   k.row(b, h, k0), k.row_stride, T(0), scores.data(), kKeyBlock);
      online_softmax_step<T>(p, scores.data(), rows, cols, q0, k0, row_max.data(), row_sum.data(),
                             out, b, h);
      // o += p v: (rows, cols) x (cols, e)
      tile_gemm<T>(false, false, rows, p.e, cols, T(1), scores.data(), kKeyBlock, v.row(b, h, k0),
                   v.row_stride, T(1), out.row(b, h, q0), out.row_stride);
    }
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t t = q0 + r;
      T* o = out.row(b, h, t);
      const T sum = row_sum[size_t(r)];
      if (sum > T(0)) {
        for (int64_t c = 0; c < p.e; ++c) o[c] /= sum;
      }
      logsumexp[(b * p.H + h) * p.L + t] = sum > T(0) ? row_max[size_t(r)] + std::log(sum) : T(0);
    }
  }
}

template <typename T>
void backward_head(const Problem& p, T scale, Rows<const T> q, Rows<const T> k, Rows<const T> v,
                   Rows<const T> out, const T* logsumexp, Rows<const T> dout, Rows<T> dq,
                   Rows<T> dk, Rows<T> dv, int64_t b, int64_t h) {
  for (int64_t t = 0; t < p.L; ++t) std::fill_n(dq.row(b, h, t), p.d, T(0));
  for (int64_t j = 0; j < p.S; ++j) {
    std::fill_n(dk.row(b, h, j), p.d, T(0));
    std::fill_n(dv.row(b, h, j), p.e, T(0));
  }
  // rowsum(do o): the dot of each row's output gradient with its output
  std::vector<T> do_dot_o(size_t(p.L));
  for (int64_t t = 0; t < p.L; ++t) {
    const T *g = dout.row(b, h, t), *o = out.row(b, h, t);
    T total = 0;
    for (int64_t c = 0; c < p.e; ++c) total += g[c] * o[c];
    do_dot_o[size_t(t)] = total;
  }
  std::vector<T> probabilities(size_t(kQueryBlock * kKeyBlock)), gradient(probabilities.size());
  const T* lse = logsumexp + (b * p.H + h) * p.L;
  for (int64_t q0 = 0; q0 < p.L; q0 += kQueryBlock) {
    const int64_t rows = std::min(kQueryBlock, p.L - q0);
    const int64_t keys_needed = p.key_limit(q0 + rows - 1);
    for (int64_t k0 = 0; k0 < keys_needed; k0 += kKeyBlock) {
      const int64_t cols = std::min(kKeyBlock, keys_needed - k0);
      T* pr = probabilities.data();
      T* ds = gradient.data();
      // p = e^(scale q k^T - logsumexp), 0 where masked
      tile_gemm<T>(false, true, rows, cols, p.d, scale, q.row(b, h, q0), q.row_stride,
                   k.row(b, h, k0), k.row_stride, T(0), pr, kKeyBlock);
      probabilities_from_scores<T>(p, pr, rows, cols, q0, k0, lse, b);
      // dv += p^T do: (cols, rows) x (rows, e)
      tile_gemm<T>(true, false, cols, p.e, rows, T(1), pr, kKeyBlock, dout.row(b, h, q0),
                   dout.row_stride, T(1), dv.row(b, h, k0), dv.row_stride);
      // dp = do v^T: (rows, e) x (e, cols)
      tile_gemm<T>(false, true, rows, cols, p.e, T(1), dout.row(b, h, q0), dout.row_stride,
                   v.row(b, h, k0), v.row_stride, T(0), ds, kKeyBlock);
      score_gradient<T>(pr, ds, rows, cols, do_dot_o.data() + q0);
      // dq += scale ds k: (rows, cols) x (cols, d);  dk += scale ds^T q: (cols, rows) x (rows, d)
      tile_gemm<T>(false, false, rows, p.d, cols, scale, ds, kKeyBlock, k.row(b, h, k0),
                   k.row_stride, T(1), dq.row(b, h, q0), dq.row_stride);
      tile_gemm<T>(true, false, cols, p.d, rows, scale, ds, kKeyBlock, q.row(b, h, q0),
                   q.row_stride, T(1), dk.row(b, h, k0), dk.row_stride);
    }
  }
}

Problem problem_of(const heed_view* q, const heed_view* k, const heed_view* v,
                   const heed_view* key_keep, int32_t causal) {
  return {q->shape[0], q->shape[1],
          q->shape[2], k->shape[2],
          q->shape[3], v->shape[3],
          causal,      key_keep != nullptr ? static_cast<const bool*>(key_keep->data) : nullptr};
}

}  // namespace

int attention_forward(const heed_view* q, const heed_view* k, const heed_view* v,
                      const heed_view* key_keep, int32_t causal, double scale, const heed_view* out,
                      const heed_view* logsumexp) {
  const Problem p = problem_of(q, k, v, key_keep, causal);
  visit_floating(q->dtype, [&](auto zero) {
    using T = decltype(zero);
    for_each_head(p, [&](int64_t b, int64_t h) {
      forward_head<T>(p, T(scale), rows_of<const T>(q), rows_of<const T>(k), rows_of<const T>(v),
                      rows_of<T>(out), typed<T>(logsumexp), b, h);
    });
  });
  return 0;
}

int attention_backward(const heed_view* q, const heed_view* k, const heed_view* v,
                       const heed_view* key_keep, int32_t causal, double scale,
                       const heed_view* out, const heed_view* logsumexp, const heed_view* dout,
                       const heed_view* dq, const heed_view* dk, const heed_view* dv) {
  const Problem p = problem_of(q, k, v, key_keep, causal);
  visit_floating(q->dtype, [&](auto zero) {
    using T = decltype(zero);
    for_each_head(p, [&](int64_t b, int64_t h) {
      backward_head<T>(p, T(scale), rows_of<const T>(q), rows_of<const T>(k), rows_of<const T>(v),
                       rows_of<const T>(out), typed<const T>(logsumexp), rows_of<const T>(dout),
                       rows_of<T>(dq), rows_of<T>(dk), rows_of<T>(dv), b, h);
    });
  });
  return 0;
}

}  // namespace heed::cpu
