// The naive scaled dot-product attention: one query row at a time, every score of the row held,
// accumulated in double. The fast tiled kernel in engine/cpu/attention.cpp is tested against it
// (ReferenceKernelsGuard).
#include <cmath>
#include <vector>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"
#include "engine/kernel_rules.hpp"

namespace heed::cpu::reference {

namespace {

// Element (b, h, t, c) of a (B, H, T, X) view.
template <typename T>
T& at(const heed_view* view, int64_t b, int64_t h, int64_t t, int64_t c) {
  return static_cast<T*>(view->data)[b * view->strides[0] + h * view->strides[1] +
                                     t * view->strides[2] + c * view->strides[3]];
}

// One row's probabilities over all S keys (0 where masked), and its logsumexp; false when the
// row keeps no key.
template <typename T>
bool row_probabilities(const heed_view* q, const heed_view* k, const heed_view* key_keep,
                       int32_t causal, double scale, int64_t b, int64_t h, int64_t t,
                       std::vector<double>& p, double& logsumexp) {
  const int64_t L = q->shape[2], S = k->shape[2], d = q->shape[3];
  const int64_t limit = rules::kept_key_limit(nullptr, 1, causal, t, L, S);
  const bool* keep = key_keep != nullptr ? static_cast<const bool*>(key_keep->data) : nullptr;
  std::vector<bool> kept(size_t(S), false);
  double max = 0;
  bool any = false;
  for (int64_t j = 0; j < S; ++j) {
    kept[size_t(j)] = j < limit && (keep == nullptr || keep[b * S + j]);
    double s = 0;
    for (int64_t c = 0; c < d; ++c)
      s += double(at<T>(q, b, h, t, c)) * double(at<T>(k, b, h, j, c));
    p[size_t(j)] = s * scale;
    if (kept[size_t(j)]) {
      max = any ? std::max(max, p[size_t(j)]) : p[size_t(j)];
      any = true;
    }
  }
  double sum = 0;
  for (int64_t j = 0; j < S; ++j) {
    p[size_t(j)] = kept[size_t(j)] ? std::exp(p[size_t(j)] - max) : 0.0;
    sum += p[size_t(j)];
  }
  for (double& x : p) x = any ? x / sum : 0.0;
  logsumexp = any ? max + std::log(sum) : 0.0;
  return any;
}

}  // namespace

int attention_forward(const heed_view* q, const heed_view* k, const heed_view* v,
                      const heed_view* key_keep, int32_t causal, double scale, const heed_view* out,
                      const heed_view* logsumexp) {
  const int64_t B = q->shape[0], H = q->shape[1], L = q->shape[2], S = k->shape[2];
  const int64_t e = v->shape[3];
  visit_floating(q->dtype, [&](auto zero) {
    using T = decltype(zero);
    std::vector<double> p(static_cast<size_t>(S));
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t h = 0; h < H; ++h) {
        for (int64_t t = 0; t < L; ++t) {
          double lse = 0;
          row_probabilities<T>(q, k, key_keep, causal, scale, b, h, t, p, lse);
          for (int64_t c = 0; c < e; ++c) {
            double total = 0;  // out = p v
            for (int64_t j = 0; j < S; ++j) total += p[size_t(j)] * double(at<T>(v, b, h, j, c));
            at<T>(out, b, h, t, c) = static_cast<T>(total);
          }
          static_cast<T*>(logsumexp->data)[(b * H + h) * L + t] = static_cast<T>(lse);
        }
      }
    }
  });
  return 0;
}

int attention_backward(const heed_view* q, const heed_view* k, const heed_view* v,
                       const heed_view* key_keep, int32_t causal, double scale,
                       const heed_view* /*out*/, const heed_view* /*logsumexp*/,
                       const heed_view* dout, const heed_view* dq, const heed_view* dk,
                       const heed_view* dv) {
  const int64_t B = q->shape[0], H = q->shape[1], L = q->shape[2], S = k->shape[2];
  const int64_t d = q->shape[3], e = v->shape[3];
  visit_floating(q->dtype, [&](auto zero) {
    using T = decltype(zero);
    std::vector<double> p(static_cast<size_t>(S)), dp(static_cast<size_t>(S));
    // Sums in double, written once at the end.
    std::vector<double> gq(size_t(B * H * L * d)), gk(size_t(B * H * S * d)),
        gv(size_t(B * H * S * e));
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t h = 0; h < H; ++h) {
        const int64_t head = b * H + h;
        for (int64_t t = 0; t < L; ++t) {
          double lse = 0;
          if (!row_probabilities<T>(q, k, key_keep, causal, scale, b, h, t, p, lse)) continue;
          // dp_j = do . v_j;  dv_j += p_j do;  ds_j = p_j (dp_j - sum_i p_i dp_i)
          double weighted = 0;
          for (int64_t j = 0; j < S; ++j) {
            double dot = 0;
            for (int64_t c = 0; c < e; ++c) {
              dot += double(at<T>(dout, b, h, t, c)) * double(at<T>(v, b, h, j, c));
              gv[size_t((head * S + j) * e + c)] += p[size_t(j)] * double(at<T>(dout, b, h, t, c));
            }
            dp[size_t(j)] = dot;
            weighted += p[size_t(j)] * dot;
          }
          for (int64_t j = 0; j < S; ++j) {
            const double ds = p[size_t(j)] * (dp[size_t(j)] - weighted) * scale;
            for (int64_t c = 0; c < d; ++c) {  // dq += scale ds k;  dk += scale ds q
              gq[size_t((head * L + t) * d + c)] += ds * double(at<T>(k, b, h, j, c));
              gk[size_t((head * S + j) * d + c)] += ds * double(at<T>(q, b, h, t, c));
            }
          }
        }
        for (int64_t t = 0; t < L; ++t) {
          for (int64_t c = 0; c < d; ++c) {
            at<T>(dq, b, h, t, c) = static_cast<T>(gq[size_t((head * L + t) * d + c)]);
          }
        }
        for (int64_t j = 0; j < S; ++j) {
          for (int64_t c = 0; c < d; ++c) {
            at<T>(dk, b, h, j, c) = static_cast<T>(gk[size_t((head * S + j) * d + c)]);
          }
          for (int64_t c = 0; c < e; ++c) {
            at<T>(dv, b, h, j, c) = static_cast<T>(gv[size_t((head * S + j) * e + c)]);
          }
        }
      }
    }
  });
  return 0;
}

}  // namespace heed::cpu::reference
