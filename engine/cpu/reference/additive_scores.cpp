// The naive additive attention scores: one (b, q, k, h) at a time, in double.
// The fast kernel in engine/cpu/additive_scores.cpp is tested against it (ReferenceKernelsGuard).
#include <cmath>
#include <vector>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu::reference {

// Additive scores one (b, q, k, h) at a time, accumulated in double, with the library's tanh.
int additive_scores_forward(const heed_view* query_features, const heed_view* key_features,
                            const heed_view* w, const heed_view* scores) {
  const int64_t B = query_features->shape[0], Q = query_features->shape[1];
  const int64_t K = key_features->shape[1], H = query_features->shape[2];
  visit_floating(w->dtype, [&](auto zero) {
    using T = decltype(zero);
    const T *qf = typed<T>(query_features), *kf = typed<T>(key_features), *wv = typed<T>(w);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t q = 0; q < Q; ++q) {
        for (int64_t k = 0; k < K; ++k) {
          double total = 0;
          for (int64_t h = 0; h < H; ++h) {
            total += double(wv[h]) *
                     std::tanh(double(qf[(b * Q + q) * H + h]) + double(kf[(b * K + k) * H + h]));
          }
          typed<T>(scores)[(b * Q + q) * K + k] = static_cast<T>(total);
        }
      }
    }
  });
  return 0;
}

// With t = tanh(qf + kf): dw = sum g t; dqf = sum_k g w (1 - t^2); dkf = sum_q g w (1 - t^2).
int additive_scores_backward(const heed_view* dscores, const heed_view* query_features,
                             const heed_view* key_features, const heed_view* w,
                             const heed_view* dquery_features, const heed_view* dkey_features,
                             const heed_view* dw) {
  const int64_t B = query_features->shape[0], Q = query_features->shape[1];
  const int64_t K = key_features->shape[1], H = query_features->shape[2];
  visit_floating(w->dtype, [&](auto zero) {
    using T = decltype(zero);
    const T *qf = typed<T>(query_features), *kf = typed<T>(key_features), *wv = typed<T>(w);
    std::vector<double> dq(size_t(B * Q * H), 0.0), dk(size_t(B * K * H), 0.0), dwv(size_t(H), 0.0);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t q = 0; q < Q; ++q) {
        for (int64_t k = 0; k < K; ++k) {
          const double g = double(typed<T>(dscores)[(b * Q + q) * K + k]);
          for (int64_t h = 0; h < H; ++h) {
            const double t =
                std::tanh(double(qf[(b * Q + q) * H + h]) + double(kf[(b * K + k) * H + h]));
            const double d = g * double(wv[h]) * (1.0 - t * t);
            dwv[size_t(h)] += g * t;
            dq[size_t((b * Q + q) * H + h)] += d;
            dk[size_t((b * K + k) * H + h)] += d;
          }
        }
      }
    }
    for (size_t i = 0; i < dq.size(); ++i) typed<T>(dquery_features)[i] = static_cast<T>(dq[i]);
    for (size_t i = 0; i < dk.size(); ++i) typed<T>(dkey_features)[i] = static_cast<T>(dk[i]);
    for (size_t i = 0; i < dwv.size(); ++i) typed<T>(dw)[i] = static_cast<T>(dwv[i]);
  });
  return 0;
}

}  // namespace heed::cpu::reference
