// The naive layer norm: mean, variance and the backward's row sums in double, one row at a time.
// The fast kernel in engine/cpu/layer_norm.cpp is tested against it (ReferenceKernelsGuard).
#include <cmath>
#include <vector>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu::reference {

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

}  // namespace heed::cpu::reference
