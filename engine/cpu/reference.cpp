// Naive reference kernels: the plainest correct loops, serial, no BLAS, no tricks. The tests run
// every op under both the fast CPU backend and this one and compare (ReferenceKernelsGuard).
#include <cmath>
#include <limits>
#include <vector>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/softmax_rows.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu::reference {

int gemm(int32_t dtype, int64_t batch, int64_t m, int64_t n, int64_t k, double alpha, heed_matrix a,
         heed_matrix b, double beta, heed_matrix c) {
  visit_floating(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto* pa = static_cast<const T*>(a.data);
    const auto* pb = static_cast<const T*>(b.data);
    auto* pc = static_cast<T*>(c.data);
    for (int64_t s = 0; s < batch; ++s) {
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          double total = 0;  // accumulate in double: the reference should be the more exact one
          for (int64_t p = 0; p < k; ++p) {
            total +=
                static_cast<double>(pa[s * a.batch_stride + i * a.row_stride + p * a.col_stride]) *
                static_cast<double>(pb[s * b.batch_stride + p * b.row_stride + j * b.col_stride]);
          }
          T& out = pc[s * c.batch_stride + i * c.row_stride + j * c.col_stride];
          out = static_cast<T>(alpha * total + (beta == 0 ? 0.0 : beta * static_cast<double>(out)));
        }
      }
    }
  });
  return 0;
}

int softmax_forward(const heed_view* x, const heed_softmax_mask* mask, int32_t log,
                    const heed_view* y) {
  const SoftmaxRows rows(x, mask);
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t r = 0; r < rows.count; ++r) {
      const T* xr = typed<T>(x) + r * rows.keys;
      T* yr = typed<T>(y) + r * rows.keys;
      std::vector<bool> kept(static_cast<size_t>(rows.keys));
      double shift = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < rows.keys; ++j) {
        kept[j] = j < rows.limit(r) &&
                  (rows.keep_mask == nullptr || rows.keep_row(r)[j * rows.keep_step()]);
        if (kept[j]) shift = std::max(shift, static_cast<double>(xr[j]));
      }
      double total = 0;
      for (int64_t j = 0; j < rows.keys; ++j) {
        if (kept[j]) total += std::exp(static_cast<double>(xr[j]) - shift);
      }
      for (int64_t j = 0; j < rows.keys; ++j) {
        const double value = static_cast<double>(xr[j]) - shift;
        if (log != 0) {
          yr[j] = static_cast<T>(value - std::log(total));
        } else {
          yr[j] = kept[j] ? static_cast<T>(std::exp(value) / total) : T(0);
        }
      }
    }
  });
  return 0;
}

int softmax_backward(const heed_view* y, const heed_view* dy, int32_t log, const heed_view* dx) {
  const int64_t k = y->shape[y->ndim - 1];
  const int64_t count = k == 0 ? 0 : row_count(y);
  visit_floating(y->dtype, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t r = 0; r < count; ++r) {
      const T* yr = typed<T>(y) + r * k;
      const T* dyr = typed<T>(dy) + r * k;
      T* dxr = typed<T>(dx) + r * k;
      double total = 0;
      for (int64_t j = 0; j < k; ++j)
        total += log != 0 ? double(dyr[j]) : double(dyr[j]) * double(yr[j]);
      for (int64_t j = 0; j < k; ++j) {
        dxr[j] = log != 0 ? static_cast<T>(dyr[j] - std::exp(double(yr[j])) * total)
                          : static_cast<T>(yr[j] * (dyr[j] - total));
      }
    }
  });
  return 0;
}

int layer_norm_forward(const heed_view* x, const heed_view* weight, const heed_view* bias,
                       double eps, const heed_view* y, const heed_view* mean,
                       const heed_view* rstd) {
  const int64_t d = x->shape[x->ndim - 1];
  const int64_t rows = d == 0 ? 0 : row_count(x);
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = typed<T>(x) + r * d;
      double mu = 0, variance = 0;
      for (int64_t j = 0; j < d; ++j) mu += xr[j];
      mu /= double(d);
      for (int64_t j = 0; j < d; ++j) variance += (xr[j] - mu) * (xr[j] - mu);
      const double inv_std = 1.0 / std::sqrt(variance / double(d) + eps);
      for (int64_t j = 0; j < d; ++j) {
        const double w = weight ? double(typed<T>(weight)[j]) : 1.0;
        const double b = bias ? double(typed<T>(bias)[j]) : 0.0;
        typed<T>(y)[r * d + j] = static_cast<T>((xr[j] - mu) * inv_std * w + b);
      }
      typed<T>(mean)[r] = static_cast<T>(mu);
      typed<T>(rstd)[r] = static_cast<T>(inv_std);
    }
  });
  return 0;
}

int layer_norm_backward(const heed_view* dy, const heed_view* x, const heed_view* weight,
                        const heed_view* mean, const heed_view* rstd, const heed_view* dx,
                        const heed_view* dweight, const heed_view* dbias) {
  const int64_t d = x->shape[x->ndim - 1];
  const int64_t rows = d == 0 ? 0 : row_count(x);
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    std::vector<double> dw(static_cast<size_t>(d)), db(static_cast<size_t>(d));
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = typed<T>(x) + r * d;
      const T* dyr = typed<T>(dy) + r * d;
      const double mu = typed<T>(mean)[r], inv_std = typed<T>(rstd)[r];
      std::vector<double> xhat(static_cast<size_t>(d)), g(static_cast<size_t>(d));
      double mean_g = 0, mean_g_xhat = 0;
      for (int64_t j = 0; j < d; ++j) {
        xhat[j] = (xr[j] - mu) * inv_std;
        g[j] = dyr[j] * (weight ? double(typed<T>(weight)[j]) : 1.0);
        mean_g += g[j] / double(d);
        mean_g_xhat += g[j] * xhat[j] / double(d);
        dw[j] += dyr[j] * xhat[j];
        db[j] += dyr[j];
      }
      for (int64_t j = 0; j < d; ++j) {
        typed<T>(dx)[r * d + j] = static_cast<T>(inv_std * (g[j] - mean_g - xhat[j] * mean_g_xhat));
      }
    }
    for (int64_t j = 0; j < d; ++j) {
      if (dweight) typed<T>(dweight)[j] = static_cast<T>(dw[j]);
      if (dbias) typed<T>(dbias)[j] = static_cast<T>(db[j]);
    }
  });
  return 0;
}

int cross_entropy_forward(const heed_view* logits, const heed_view* targets, int64_t ignore_index,
                          const heed_view* loss) {
  // Reuses the reference log_softmax: loss = -log_softmax(logits)[target].
  const int64_t n = logits->shape[0], c = logits->shape[1];
  visit_floating(logits->dtype, [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> log_probs(static_cast<size_t>(n * c));
    heed_view out = *logits;
    out.data = log_probs.data();
    softmax_forward(logits, nullptr, 1, &out);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = typed<int64_t>(targets)[i];
      typed<T>(loss)[i] = t == ignore_index ? T(0) : -log_probs[static_cast<size_t>(i * c + t)];
    }
  });
  return 0;
}

int cross_entropy_backward(const heed_view* logits, const heed_view* targets, int64_t ignore_index,
                           const heed_view* row_grad, const heed_view* dlogits) {
  const int64_t n = logits->shape[0], c = logits->shape[1];
  visit_floating(logits->dtype, [&](auto zero) {
    using T = decltype(zero);
    softmax_forward(logits, nullptr, 0, dlogits);  // dlogits = softmax(logits), then adjust
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = typed<int64_t>(targets)[i];
      T* row = typed<T>(dlogits) + i * c;
      const T g = t == ignore_index ? T(0) : typed<T>(row_grad)[i];
      for (int64_t j = 0; j < c; ++j) row[j] = g * (row[j] - (j == t ? T(1) : T(0)));
    }
  });
  return 0;
}

int reduce_rows(int32_t op, const heed_view* x, const heed_view* out) {
  if (op < 0 || op >= HEED_REDUCE_OP_COUNT)
    return report_error("reduce_rows", "unknown op code", op);
  const int64_t rows = x->shape[0], n = x->shape[1];
  visit_any(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, bool>) {
      for (int64_t r = 0; r < rows; ++r) {
        const T* row = typed<T>(x) + r * n;
        if (op == HEED_SUM) {
          T total = 0;
          for (int64_t j = 0; j < n; ++j) total += row[j];
          typed<T>(out)[r] = total;
          continue;
        }
        int64_t best = 0;
        for (int64_t j = 1; j < n; ++j) {
          const bool better =
              (op == HEED_MAX || op == HEED_ARGMAX) ? row[j] > row[best] : row[j] < row[best];
          if (better) best = j;
        }
        if (op == HEED_ARGMAX || op == HEED_ARGMIN) {
          typed<int64_t>(out)[r] = best;
        } else {
          typed<T>(out)[r] = row[best];
        }
      }
    }
  });
  return 0;
}

}  // namespace heed::cpu::reference

namespace heed::cpu::reference {

// The GRU cell one element at a time with the library's exp and tanh, in the order of the
// equations: what the fused kernel is checked against.
int gru_cell_forward(const heed_view* input_gates, const heed_view* hidden_gates,
                     const heed_view* h, const heed_view* h_next, const heed_view* gates) {
  const int64_t batch = h->shape[0], hidden = h->shape[1];
  visit_floating(h->dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* in = typed<T>(input_gates);
    const T* hid = typed<T>(hidden_gates);
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t j = 0; j < hidden; ++j) {
        const int64_t at = b * 3 * hidden + j;
        const T r = T(1) / (T(1) + std::exp(-(in[at] + hid[at])));
        const T z = T(1) / (T(1) + std::exp(-(in[at + hidden] + hid[at + hidden])));
        const T n = std::tanh(in[at + 2 * hidden] + r * hid[at + 2 * hidden]);
        typed<T>(gates)[at] = r;
        typed<T>(gates)[at + hidden] = z;
        typed<T>(gates)[at + 2 * hidden] = n;
        typed<T>(h_next)[b * hidden + j] = (T(1) - z) * n + z * typed<T>(h)[b * hidden + j];
      }
    }
  });
  return 0;
}

int gru_cell_backward(const heed_view* dh_next, const heed_view* gates,
                      const heed_view* hidden_gates, const heed_view* h,
                      const heed_view* dinput_gates, const heed_view* dhidden_gates,
                      const heed_view* dh) {
  const int64_t batch = h->shape[0], hidden = h->shape[1];
  visit_floating(h->dtype, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t j = 0; j < hidden; ++j) {
        const int64_t at = b * 3 * hidden + j;
        const T r = typed<T>(gates)[at], z = typed<T>(gates)[at + hidden];
        const T n = typed<T>(gates)[at + 2 * hidden];
        const T g = typed<T>(dh_next)[b * hidden + j];
        const T dn = g * (T(1) - z), dz = g * (typed<T>(h)[b * hidden + j] - n);
        const T dn_pre = dn * (T(1) - n * n);
        const T dr = dn_pre * typed<T>(hidden_gates)[at + 2 * hidden];
        const T dr_pre = dr * r * (T(1) - r), dz_pre = dz * z * (T(1) - z);
        typed<T>(dinput_gates)[at] = dr_pre;
        typed<T>(dinput_gates)[at + hidden] = dz_pre;
        typed<T>(dinput_gates)[at + 2 * hidden] = dn_pre;
        typed<T>(dhidden_gates)[at] = dr_pre;
        typed<T>(dhidden_gates)[at + hidden] = dz_pre;
        typed<T>(dhidden_gates)[at + 2 * hidden] = dn_pre * r;
        typed<T>(dh)[b * hidden + j] = g * z;
      }
    }
  });
  return 0;
}

}  // namespace heed::cpu::reference

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

// Adam one element at a time, in double, in the order of nn/optim.hpp's equations.
int adam_step(const heed_view* param, const heed_view* grad, const heed_view* exp_avg,
              const heed_view* exp_avg_sq, const heed_adam_options* o) {
  int64_t n = 1;
  for (int32_t d = 0; d < param->ndim; ++d) n *= param->shape[d];
  visit_floating(param->dtype, [&](auto zero) {
    using T = decltype(zero);
    T *p = typed<T>(param), *m = typed<T>(exp_avg), *v = typed<T>(exp_avg_sq);
    const T* g_in = typed<T>(grad);
    for (int64_t i = 0; i < n; ++i) {
      double g = double(g_in[i]), value = double(p[i]);
      if (o->weight_decay != 0 && o->decoupled) value *= 1.0 - o->lr * o->weight_decay;
      if (o->weight_decay != 0 && !o->decoupled) g += o->weight_decay * value;
      const double mean = o->beta1 * double(m[i]) + (1.0 - o->beta1) * g;
      const double square = o->beta2 * double(v[i]) + (1.0 - o->beta2) * g * g;
      const double denominator = std::sqrt(square) / std::sqrt(o->bias_correction2) + o->eps;
      p[i] = static_cast<T>(value - mean / denominator * (o->lr / o->bias_correction1));
      m[i] = static_cast<T>(mean);
      v[i] = static_cast<T>(square);
    }
  });
  return 0;
}

}  // namespace heed::cpu::reference
