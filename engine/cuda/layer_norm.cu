// CUDA layer norm over the last dim, one warp per row; the backward's weight and bias gradients
// are column sums over the rows, one thread per column in a fixed order (deterministic).
#include <cmath>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"

namespace heed::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;

template <typename T>
__global__ void layer_norm_forward_kernel(const T* x, const T* weight, const T* bias, double eps,
                                          T* y, T* mean, T* rstd, int64_t rows, int64_t d) {
  const int64_t row = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const T* xr = x + row * d;
  T total = 0;
  for (int64_t j = lane; j < d; j += 32) total += xr[j];
  const T mu = warp_sum(total) / T(d);
  T squares = 0;
  for (int64_t j = lane; j < d; j += 32) squares += (xr[j] - mu) * (xr[j] - mu);
  const T inv_std = T(1) / sqrt(warp_sum(squares) / T(d) + T(eps));
  for (int64_t j = lane; j < d; j += 32) {
    const T w = weight != nullptr ? weight[j] : T(1), b = bias != nullptr ? bias[j] : T(0);
    y[row * d + j] = (xr[j] - mu) * inv_std * w + b;
  }
  if (lane == 0) mean[row] = mu, rstd[row] = inv_std;
}

// dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy w
template <typename T>
__global__ void layer_norm_dx_kernel(const T* dy, const T* x, const T* weight, const T* mean,
                                     const T* rstd, T* dx, int64_t rows, int64_t d) {
  const int64_t row = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const T mu = mean[row], inv_std = rstd[row];
  T sum_g = 0, sum_g_xhat = 0;
  for (int64_t j = lane; j < d; j += 32) {
    const T g = dy[row * d + j] * (weight != nullptr ? weight[j] : T(1));
    sum_g += g;
    sum_g_xhat += g * (x[row * d + j] - mu) * inv_std;
  }
  const T mean_g = warp_sum(sum_g) / T(d), mean_g_xhat = warp_sum(sum_g_xhat) / T(d);
  for (int64_t j = lane; j < d; j += 32) {
    const T g = dy[row * d + j] * (weight != nullptr ? weight[j] : T(1));
    const T xhat = (x[row * d + j] - mu) * inv_std;
    dx[row * d + j] = inv_std * (g - mean_g - xhat * mean_g_xhat);
  }
}

// dweight = sum over rows of dy xhat; dbias = sum over rows of dy
template <typename T>
__global__ void layer_norm_dparams_kernel(const T* dy, const T* x, const T* mean, const T* rstd,
                                          T* dweight, T* dbias, int64_t rows, int64_t d) {
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= d) return;
  T dw = 0, db = 0;
  for (int64_t r = 0; r < rows; ++r) {
    dw += dy[r * d + j] * (x[r * d + j] - mean[r]) * rstd[r];
    db += dy[r * d + j];
  }
  if (dweight != nullptr) dweight[j] = dw;
  if (dbias != nullptr) dbias[j] = db;
}

template <typename T>
const T* data_or_null(const heed_view* v) {
  return v != nullptr ? static_cast<const T*>(v->data) : nullptr;
}

}  // namespace

int layer_norm_forward(const heed_view* x, const heed_view* weight, const heed_view* bias,
                       double eps, const heed_view* y, const heed_view* mean,
                       const heed_view* rstd) {
  const int64_t d = x->shape[x->ndim - 1];
  const int64_t rows = d == 0 ? 0 : numel(*x) / d;
  if (rows == 0) return 0;
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    layer_norm_forward_kernel<T>
        <<<int((rows + kWarpsPerBlock - 1) / kWarpsPerBlock), kWarpsPerBlock * 32>>>(
            static_cast<const T*>(x->data), data_or_null<T>(weight), data_or_null<T>(bias), eps,
            static_cast<T*>(y->data), static_cast<T*>(mean->data), static_cast<T*>(rstd->data),
            rows, d);
  });
  return check_launch("layer_norm_forward");
}

int layer_norm_backward(const heed_view* dy, const heed_view* x, const heed_view* weight,
                        const heed_view* mean, const heed_view* rstd, const heed_view* dx,
                        const heed_view* dweight, const heed_view* dbias) {
  const int64_t d = x->shape[x->ndim - 1];
  const int64_t rows = d == 0 ? 0 : numel(*x) / d;
  if (rows == 0) return 0;
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    const T *pdy = static_cast<const T*>(dy->data), *px = static_cast<const T*>(x->data);
    const T *pmean = static_cast<const T*>(mean->data), *prstd = static_cast<const T*>(rstd->data);
    layer_norm_dx_kernel<T>
        <<<int((rows + kWarpsPerBlock - 1) / kWarpsPerBlock), kWarpsPerBlock * 32>>>(
            pdy, px, data_or_null<T>(weight), pmean, prstd, static_cast<T*>(dx->data), rows, d);
    if (dweight != nullptr || dbias != nullptr) {
      layer_norm_dparams_kernel<T><<<blocks_for(d), kThreads>>>(
          pdy, px, pmean, prstd, dweight ? static_cast<T*>(dweight->data) : nullptr,
          dbias ? static_cast<T*>(dbias->data) : nullptr, rows, d);
    }
  });
  return check_launch("layer_norm_backward");
}

}  // namespace heed::cuda
