// CPU additive (Bahdanau) attention scores, fused: for every query q and key k of a batch entry
//   scores[q, k] = sum_h w[h] * tanh(qf[q, h] + kf[k, h])
// in one pass, without the (Q, K, H) tensor of tanh values that the composite version
// (add, tanh, a product with w) builds and keeps for its backward. The backward recomputes the
// tanh values instead of reading them back. Batch entries run in parallel.
#include <vector>

#include "engine/cpu/fast_math.hpp"
#include "engine/cpu/kernels.hpp"
#include "engine/cpu/row_reductions.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu {

namespace {

// One batch entry: qf (Q, H), kf (K, H) -> scores (Q, K). `terms` holds H values.
template <typename T>
HEED_ALSO_FOR_AVX2 void score_entry(const T* __restrict qf, const T* __restrict kf,
                                    const T* __restrict w, int64_t Q, int64_t K, int64_t H,
                                    T* __restrict terms, T* __restrict scores) {
  for (int64_t q = 0; q < Q; ++q) {
    const T* query = qf + q * H;
    for (int64_t k = 0; k < K; ++k) {
      const T* key = kf + k * H;
      for (int64_t h = 0; h < H; ++h) terms[h] = w[h] * vector_tanh(query[h] + key[h]);
      scores[q * K + k] = row_sum(terms, H);
    }
  }
}

// One batch entry's gradients; dw_partial (H) collects this entry's share of dw. Pairs with a
// zero score gradient (masked keys) add nothing and are skipped.
template <typename T>
HEED_ALSO_FOR_AVX2 void score_entry_backward(const T* __restrict dscores, const T* __restrict qf,
                                             const T* __restrict kf, const T* __restrict w,
                                             int64_t Q, int64_t K, int64_t H, T* __restrict dqf,
                                             T* __restrict dkf, T* __restrict dw_partial) {
  for (int64_t i = 0; i < Q * H; ++i) dqf[i] = 0;
  for (int64_t i = 0; i < K * H; ++i) dkf[i] = 0;
  for (int64_t h = 0; h < H; ++h) dw_partial[h] = 0;
  for (int64_t q = 0; q < Q; ++q) {
    const T* query = qf + q * H;
    T* dquery = dqf + q * H;
    for (int64_t k = 0; k < K; ++k) {
      const T g = dscores[q * K + k];
      if (g == T(0)) continue;
      const T* key = kf + k * H;
      T* dkey = dkf + k * H;
      for (int64_t h = 0; h < H; ++h) {
        const T t = vector_tanh(query[h] + key[h]);
        dw_partial[h] += g * t;                 // d/dw of w . tanh(.)
        const T d = g * w[h] * (T(1) - t * t);  // through tanh
        dquery[h] += d;
        dkey[h] += d;
      }
    }
  }
}

}  // namespace

int additive_scores_forward(const heed_view* query_features, const heed_view* key_features,
                            const heed_view* w, const heed_view* scores) {
  const int64_t B = query_features->shape[0], Q = query_features->shape[1];
  const int64_t K = key_features->shape[1], H = query_features->shape[2];
  visit_floating(w->dtype, [&](auto zero) {
    using T = decltype(zero);
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(Q * K * H, 1));
    parallel_range(B, grain, [&](int64_t begin, int64_t end) {
      std::vector<T> terms(static_cast<size_t>(H));
      for (int64_t b = begin; b < end; ++b) {
        score_entry(typed<T>(query_features) + b * Q * H, typed<T>(key_features) + b * K * H,
                    typed<T>(w), Q, K, H, terms.data(), typed<T>(scores) + b * Q * K);
      }
    });
  });
  return 0;
}

int additive_scores_backward(const heed_view* dscores, const heed_view* query_features,
                             const heed_view* key_features, const heed_view* w,
                             const heed_view* dquery_features, const heed_view* dkey_features,
                             const heed_view* dw) {
  const int64_t B = query_features->shape[0], Q = query_features->shape[1];
  const int64_t K = key_features->shape[1], H = query_features->shape[2];
  visit_floating(w->dtype, [&](auto zero) {
    using T = decltype(zero);
    // Each entry's share of dw goes to its own row, summed afterwards in a fixed order, so the
    // result does not depend on how the entries were spread over threads.
    std::vector<T> dw_partials(static_cast<size_t>(B * H));
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(Q * K * H, 1));
    parallel_range(B, grain, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        score_entry_backward(typed<T>(dscores) + b * Q * K, typed<T>(query_features) + b * Q * H,
                             typed<T>(key_features) + b * K * H, typed<T>(w), Q, K, H,
                             typed<T>(dquery_features) + b * Q * H,
                             typed<T>(dkey_features) + b * K * H, dw_partials.data() + b * H);
      }
    });
    T* out = typed<T>(dw);
    for (int64_t h = 0; h < H; ++h) out[h] = 0;
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t h = 0; h < H; ++h) out[h] += dw_partials[static_cast<size_t>(b * H + h)];
    }
  });
  return 0;
}

}  // namespace heed::cpu
