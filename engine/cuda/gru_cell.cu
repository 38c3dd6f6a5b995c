// CUDA fused GRU cell, one thread per (batch row, hidden unit), PyTorch's equations:
//   r = sigmoid(i_r + h_r)   z = sigmoid(i_z + h_z)   n = tanh(i_n + r * h_n)   h' = n + z (h - n)
#include <cmath>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"

namespace heed::cuda {

namespace {

template <typename T>
__global__ void gru_forward_kernel(const T* in, const T* hid, const T* h, T* h_next, T* gates,
                                   int64_t batch, int64_t H) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= batch * H) return;
  const int64_t b = t / H, j = t % H, at = b * 3 * H + j;
  const T r = T(1) / (T(1) + exp(-(in[at] + hid[at])));
  const T z = T(1) / (T(1) + exp(-(in[at + H] + hid[at + H])));
  const T n = tanh(in[at + 2 * H] + r * hid[at + 2 * H]);
  gates[at] = r, gates[at + H] = z, gates[at + 2 * H] = n;
  h_next[t] = n + z * (h[t] - n);
}

// dn = dh' (1 - z)(1 - n^2); dz = dh' (h - n) z (1 - z); dr = dn h_n r (1 - r); dh = dh' z
template <typename T>
__global__ void gru_backward_kernel(const T* dh_next, const T* gates, const T* hid, const T* h,
                                    T* d_in, T* d_hid, T* dh, int64_t batch, int64_t H) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= batch * H) return;
  const int64_t b = t / H, j = t % H, at = b * 3 * H + j;
  const T g = dh_next[t], r = gates[at], z = gates[at + H], n = gates[at + 2 * H];
  const T dn = g * (T(1) - z) * (T(1) - n * n);
  const T dz = g * (h[t] - n) * z * (T(1) - z);
  const T dr = dn * hid[at + 2 * H] * r * (T(1) - r);
  d_in[at] = dr, d_in[at + H] = dz, d_in[at + 2 * H] = dn;
  d_hid[at] = dr, d_hid[at + H] = dz, d_hid[at + 2 * H] = dn * r;
  dh[t] = g * z;
}

}  // namespace

int gru_cell_forward(const heed_view* input_gates, const heed_view* hidden_gates,
                     const heed_view* h, const heed_view* h_next, const heed_view* gates) {
  const int64_t batch = h->shape[0], H = h->shape[1];
  if (batch * H == 0) return 0;
  visit_floating(h->dtype, [&](auto zero) {
    using T = decltype(zero);
    gru_forward_kernel<T><<<int((batch * H + kThreads - 1) / kThreads), kThreads>>>(
        static_cast<const T*>(input_gates->data), static_cast<const T*>(hidden_gates->data),
        static_cast<const T*>(h->data), static_cast<T*>(h_next->data), static_cast<T*>(gates->data),
        batch, H);
  });
  return check_launch("gru_cell_forward");
}

int gru_cell_backward(const heed_view* dh_next, const heed_view* gates,
                      const heed_view* hidden_gates, const heed_view* h,
                      const heed_view* dinput_gates, const heed_view* dhidden_gates,
                      const heed_view* dh) {
  const int64_t batch = h->shape[0], H = h->shape[1];
  if (batch * H == 0) return 0;
  visit_floating(h->dtype, [&](auto zero) {
    using T = decltype(zero);
    gru_backward_kernel<T><<<int((batch * H + kThreads - 1) / kThreads), kThreads>>>(
        static_cast<const T*>(dh_next->data), static_cast<const T*>(gates->data),
        static_cast<const T*>(hidden_gates->data), static_cast<const T*>(h->data),
        static_cast<T*>(dinput_gates->data), static_cast<T*>(dhidden_gates->data),
        static_cast<T*>(dh->data), batch, H);
  });
  return check_launch("gru_cell_backward");
}

}  // namespace heed::cuda
