// CPU GRU cell, fused: one pass over the batch computes all three gates and the new state, and
// one pass computes every gradient, instead of a dozen elementwise ops each way. Rows (batch
// entries) run in parallel when there are enough of them.
//
//   r = sigmoid(i_r + h_r)   z = sigmoid(i_z + h_z)   n = tanh(i_n + r * h_n)   h' = n + z (h - n)
#include <cmath>

#include "engine/cpu/fast_math.hpp"
#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu {

namespace {

template <typename T>
T sigmoid_of(T x) {
  return T(1) / (T(1) + vector_exp(-x));
}

template <typename T>
T tanh_of(T x) {
  return T(2) * sigmoid_of(T(2) * x) - T(1);  // tanh x = 2 sigmoid(2x) - 1, no library call
}

// One batch row. Every gate block gets its own pointer, so the loop body reads p[j] only, and
// __restrict promises the compiler the blocks do not overlap: both are what lets it vectorize.
template <typename T>
void forward_row(const T* __restrict i_r, const T* __restrict i_z, const T* __restrict i_n,
                 const T* __restrict h_r, const T* __restrict h_z, const T* __restrict h_n,
                 const T* __restrict h, int64_t hidden, T* __restrict r_out, T* __restrict z_out,
                 T* __restrict n_out, T* __restrict h_next) {
  for (int64_t j = 0; j < hidden; ++j) {
    const T r = sigmoid_of(i_r[j] + h_r[j]);
    const T z = sigmoid_of(i_z[j] + h_z[j]);
    const T n = tanh_of(i_n[j] + r * h_n[j]);
    r_out[j] = r;
    z_out[j] = z;
    n_out[j] = n;
    h_next[j] = n + z * (h[j] - n);
  }
}

template <typename T>
void backward_row(const T* __restrict dh_next, const T* __restrict r, const T* __restrict z,
                  const T* __restrict n, const T* __restrict h_n, const T* __restrict h,
                  int64_t hidden, T* __restrict di_r, T* __restrict di_z, T* __restrict di_n,
                  T* __restrict dh_r, T* __restrict dh_z, T* __restrict dh_n, T* __restrict dh) {
  for (int64_t j = 0; j < hidden; ++j) {
    const T g = dh_next[j];
    const T dn_pre = g * (T(1) - z[j]) * (T(1) - n[j] * n[j]);  // through n = tanh(.)
    const T dz_pre = g * (h[j] - n[j]) * z[j] * (T(1) - z[j]);  // through z = sigmoid(.)
    const T dr_pre = dn_pre * h_n[j] * r[j] * (T(1) - r[j]);    // through r * h_n
    di_r[j] = dr_pre;
    di_z[j] = dz_pre;
    di_n[j] = dn_pre;
    dh_r[j] = dr_pre;
    dh_z[j] = dz_pre;
    dh_n[j] = dn_pre * r[j];
    dh[j] = g * z[j];
  }
}

template <typename T>
HEED_ALSO_FOR_AVX2 void forward_rows(const T* in, const T* hid, const T* h, int64_t hidden,
                                     int64_t begin, int64_t end, T* h_next, T* gates) {
  const int64_t H = hidden;
  for (int64_t b = begin; b < end; ++b) {
    const T* i_row = in + b * 3 * H;   // i_r, i_z, i_n
    const T* h_row = hid + b * 3 * H;  // h_r, h_z, h_n
    T* g_row = gates + b * 3 * H;      // r, z, n
    forward_row(i_row, i_row + H, i_row + 2 * H, h_row, h_row + H, h_row + 2 * H, h + b * H, H,
                g_row, g_row + H, g_row + 2 * H, h_next + b * H);
  }
}

template <typename T>
HEED_ALSO_FOR_AVX2 void backward_rows(const T* dh_next, const T* gates, const T* hid, const T* h,
                                      int64_t hidden, int64_t begin, int64_t end, T* d_in, T* d_hid,
                                      T* dh) {
  const int64_t H = hidden;
  for (int64_t b = begin; b < end; ++b) {
    const T* g_row = gates + b * 3 * H;
    T* di = d_in + b * 3 * H;
    T* dhd = d_hid + b * 3 * H;
    backward_row(dh_next + b * H, g_row, g_row + H, g_row + 2 * H, hid + b * 3 * H + 2 * H,
                 h + b * H, H, di, di + H, di + 2 * H, dhd, dhd + H, dhd + 2 * H, dh + b * H);
  }
}

// Rows per task: enough elements per task to pay for scheduling it.
int64_t grain(int64_t hidden) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(hidden, 1));
}

}  // namespace

int gru_cell_forward(const heed_view* input_gates, const heed_view* hidden_gates,
                     const heed_view* h, const heed_view* h_next, const heed_view* gates) {
  const int64_t batch = h->shape[0], hidden = h->shape[1];
  visit_floating(h->dtype, [&](auto zero) {
    using T = decltype(zero);
    parallel_range(batch, grain(hidden), [&](int64_t begin, int64_t end) {
      forward_rows(typed<T>(input_gates), typed<T>(hidden_gates), typed<T>(h), hidden, begin, end,
                   typed<T>(h_next), typed<T>(gates));
    });
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
    parallel_range(batch, grain(hidden), [&](int64_t begin, int64_t end) {
      backward_rows(typed<T>(dh_next), typed<T>(gates), typed<T>(hidden_gates), typed<T>(h), hidden,
                    begin, end, typed<T>(dinput_gates), typed<T>(dhidden_gates), typed<T>(dh));
    });
  });
  return 0;
}

}  // namespace heed::cpu
