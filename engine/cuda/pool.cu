// CUDA max pooling's choice of pixel: one thread per window, taps in order, padding skipped.
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"

namespace heed::cuda {

namespace {

template <typename T>
__global__ void max_pool_kernel(const T* x, heed_window2d w, int64_t height, int64_t width,
                                int64_t total, int64_t* indices) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t bx = t % w.blocks[1], by = (t / w.blocks[1]) % w.blocks[0];
    const int64_t plane = t / (w.blocks[0] * w.blocks[1]);
    const T* image = x + plane * height * width;
    int64_t best = -1;  // no pixel yet
    for (int64_t i = 0; i < w.kernel[0]; ++i) {
      const int64_t y = by * w.stride[0] - w.padding[0] + i * w.dilation[0];
      if (y < 0 || y >= height) continue;
      for (int64_t j = 0; j < w.kernel[1]; ++j) {
        const int64_t xx = bx * w.stride[1] - w.padding[1] + j * w.dilation[1];
        if (xx < 0 || xx >= width) continue;
        const int64_t pixel = y * width + xx;
        if (best < 0 || image[pixel] > image[best] || isnan(image[pixel])) best = pixel;
      }
    }
    indices[t] = best;
  }
}

}  // namespace

int max_pool2d_indices(const heed_view* x, const heed_window2d* window, const heed_view* indices) {
  const int64_t total = numel(*indices);
  if (total == 0) return 0;
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    max_pool_kernel<T><<<blocks_for(total), kThreads>>>(static_cast<const T*>(x->data), *window,
                                                        x->shape[2], x->shape[3], total,
                                                        static_cast<int64_t*>(indices->data));
  });
  return check_launch("max_pool2d_indices");
}

}  // namespace heed::cuda
