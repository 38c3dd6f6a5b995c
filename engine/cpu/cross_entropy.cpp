// CPU cross-entropy over class indices, fused: loss[i] = logsumexp(logits[i]) - logits[i, t_i]
// in one pass per row, and the backward dlogits[i] = g_i * (softmax(logits[i]) - onehot(t_i)).
#include <cmath>

#include "engine/cpu/fast_math.hpp"
#include "engine/cpu/kernels.hpp"
#include "engine/cpu/row_reductions.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu {

namespace {

// log(sum_j exp(row[j])), shifted by the row's max. The exp-sum keeps eight independent lanes,
// as row_sum does, so the compiler can vectorize it.
template <typename T>
HEED_ALSO_FOR_AVX2 T log_sum_exp(const T* row, int64_t c) {
  const T shift = row_max(row, c);
  T lanes[8] = {};
  int64_t j = 0;
  for (; j + 8 <= c; j += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] += vector_exp(row[j + l] - shift);
  }
  T total = 0;
  for (T lane : lanes) total += lane;
  for (; j < c; ++j) total += vector_exp(row[j] - shift);
  return shift + std::log(total);
}

}  // namespace

int cross_entropy_forward(const heed_view* logits, const heed_view* targets, int64_t ignore_index,
                          const heed_view* loss) {
  const int64_t n = logits->shape[0], c = logits->shape[1];
  const auto* t = typed<int64_t>(targets);
  visit_floating(logits->dtype, [&](auto zero) {
    using T = decltype(zero);
    parallel_range(
        n, std::max<int64_t>(1, 4096 / std::max<int64_t>(c, 1)), [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) {
            const T* row = typed<T>(logits) + i * c;
            typed<T>(loss)[i] = t[i] == ignore_index ? T(0) : log_sum_exp(row, c) - row[t[i]];
          }
        });
  });
  return 0;
}

int cross_entropy_backward(const heed_view* logits, const heed_view* targets, int64_t ignore_index,
                           const heed_view* row_grad, const heed_view* dlogits) {
  const int64_t n = logits->shape[0], c = logits->shape[1];
  const auto* t = typed<int64_t>(targets);
  visit_floating(logits->dtype, [&](auto zero) {
    using T = decltype(zero);
    parallel_range(n, std::max<int64_t>(1, 4096 / std::max<int64_t>(c, 1)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t i = begin; i < end; ++i) {
                       const T* row = typed<T>(logits) + i * c;
                       T* out = typed<T>(dlogits) + i * c;
                       if (t[i] == ignore_index) {
                         for (int64_t j = 0; j < c; ++j) out[j] = 0;
                         continue;
                       }
                       const T g = typed<T>(row_grad)[i];
                       const T lse = log_sum_exp(row, c);
                       for (int64_t j = 0; j < c; ++j) out[j] = g * vector_exp(row[j] - lse);
                       out[t[i]] -= g;
                     }
                   });
  });
  return 0;
}

}  // namespace heed::cpu
