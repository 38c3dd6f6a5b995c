// The naive GRU cell: one element at a time with the library's exp and tanh.
// The fast kernel in engine/cpu/gru_cell.cpp is tested against it (ReferenceKernelsGuard).
#include <cmath>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

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
