// CPU layer norm over the last dim, fused: one pass for the row statistics, one to normalise;
// the backward computes dx per row and reduces dweight/dbias with per-thread partial sums.

#include <cmath>
#include <vector>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu {

namespace {

template <typename T>
void forward(const heed_view* x, const heed_view* weight, const heed_view* bias, T eps,
             const heed_view* y, const heed_view* mean, const heed_view* rstd) {
  const int64_t d = x->shape[x->ndim - 1];
  const int64_t rows = d == 0 ? 0 : row_count(x);
  const T* px = typed<T>(x);
  const T* w = weight ? typed<T>(weight) : nullptr;
  const T* b = bias ? typed<T>(bias) : nullptr;
  parallel_range(rows, std::max<int64_t>(1, 4096 / d), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = px + r * d;
      T* yr = typed<T>(y) + r * d;
      T sum = 0;
      for (int64_t j = 0; j < d; ++j) sum += xr[j];
      const T mu = sum / T(d);
      T squares = 0;
      for (int64_t j = 0; j < d; ++j) squares += (xr[j] - mu) * (xr[j] - mu);
      const T inv_std = T(1) / std::sqrt(squares / T(d) + eps);  // biased variance, as PyTorch
      for (int64_t j = 0; j < d; ++j) {
        const T normalized = (xr[j] - mu) * inv_std;
        yr[j] = normalized * (w ? w[j] : T(1)) + (b ? b[j] : T(0));
      }
      typed<T>(mean)[r] = mu;
      typed<T>(rstd)[r] = inv_std;
    }
  });
}

// With xhat = (x - mean) * rstd and g = dy * weight:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  dweight = sum_rows(dy * xhat),
//   dbias = sum_rows(dy).
// At most this many blocks of rows in the backward: bounds the partial sums' memory.
constexpr int64_t kMaxBlocks = 64;

template <typename T>
void backward(const heed_view* dy, const heed_view* x, const heed_view* weight,
              const heed_view* mean, const heed_view* rstd, const heed_view* dx,
              const heed_view* dweight, const heed_view* dbias) {
  const int64_t d = x->shape[x->ndim - 1];
  const int64_t rows = d == 0 ? 0 : row_count(x);
  const T* w = weight ? typed<T>(weight) : nullptr;
  // Rows fall into a fixed number of blocks, fixed by the shape alone; each block keeps its own
  // partial sums ([0, d) for dweight, [d, 2d) for dbias), added up in block order below. The
  // result is then the same bit for bit whichever threads ran which blocks, so a resumed
  // training run can repeat an uninterrupted one exactly.
  const int64_t block_rows = std::max<int64_t>(std::max<int64_t>(1, 4096 / std::max<int64_t>(d, 1)),
                                               (rows + kMaxBlocks - 1) / kMaxBlocks);
  const int64_t blocks = rows == 0 ? 0 : (rows + block_rows - 1) / block_rows;
  std::vector<T> partials(static_cast<size_t>(blocks * 2 * d), T(0));
  parallel_range(blocks, 1, [&](int64_t first_block, int64_t end_block) {
    for (int64_t block = first_block; block < end_block; ++block) {
      T* partial = partials.data() + block * 2 * d;
      for (int64_t r = block * block_rows; r < std::min(rows, (block + 1) * block_rows); ++r) {
        const T* xr = typed<T>(x) + r * d;
        const T* dyr = typed<T>(dy) + r * d;
        T* dxr = typed<T>(dx) + r * d;
        const T mu = typed<T>(mean)[r];
        const T inv_std = typed<T>(rstd)[r];
        T mean_g = 0, mean_g_xhat = 0;
        for (int64_t j = 0; j < d; ++j) {
          const T xhat = (xr[j] - mu) * inv_std;
          const T g = dyr[j] * (w ? w[j] : T(1));
          mean_g += g;
          mean_g_xhat += g * xhat;
          partial[j] += dyr[j] * xhat;
          partial[d + j] += dyr[j];
        }
        mean_g /= T(d);
        mean_g_xhat /= T(d);
        for (int64_t j = 0; j < d; ++j) {
          const T xhat = (xr[j] - mu) * inv_std;
          const T g = dyr[j] * (w ? w[j] : T(1));
          dxr[j] = inv_std * (g - mean_g - xhat * mean_g_xhat);
        }
      }
    }
  });
  // Add up the blocks' partial sums, in block order, into the requested outputs.
  auto total_into = [&](const heed_view* out, int64_t offset) {
    if (out == nullptr) return;
    T* total = typed<T>(out);
    for (int64_t j = 0; j < d; ++j) total[j] = 0;
    for (int64_t block = 0; block < blocks; ++block) {
      const T* partial = partials.data() + block * 2 * d + offset;
      for (int64_t j = 0; j < d; ++j) total[j] += partial[j];
    }
  };
  total_into(dweight, 0);
  total_into(dbias, d);
}

}  // namespace

int layer_norm_forward(const heed_view* x, const heed_view* weight, const heed_view* bias,
                       double eps, const heed_view* y, const heed_view* mean,
                       const heed_view* rstd) {
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    forward<T>(x, weight, bias, static_cast<T>(eps), y, mean, rstd);
  });
  return 0;
}

int layer_norm_backward(const heed_view* dy, const heed_view* x, const heed_view* weight,
                        const heed_view* mean, const heed_view* rstd, const heed_view* dx,
                        const heed_view* dweight, const heed_view* dbias) {
  visit_floating(x->dtype, [&](auto zero) {
    backward<decltype(zero)>(dy, x, weight, mean, rstd, dx, dweight, dbias);
  });
  return 0;
}

}  // namespace heed::cpu
