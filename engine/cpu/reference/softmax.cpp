// The naive softmax, log_softmax and masked softmax: one row at a time, serial.
// The fast kernel in engine/cpu/softmax.cpp is tested against it (ReferenceKernelsGuard).
#include <cmath>
#include <limits>
#include <vector>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/softmax_rows.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu::reference {

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

}  // namespace heed::cpu::reference
