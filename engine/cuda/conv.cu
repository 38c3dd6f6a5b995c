// CUDA im2col and col2im. im2col: one thread per element of cols, reading its tap's pixel.
// col2im: one thread per pixel, summing the columns that read it, so no two threads write one
// element (no atomics, the same sum order every run).
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"

namespace heed::cuda {

namespace {

// Where element (n, row, l) of cols lives: cols' first two dims are strided, its last contiguous.
struct ColsLayout {
  int64_t channels, image_stride, row_stride;
  __device__ int64_t offset(int64_t plane, int64_t tap_row, int64_t taps, int64_t l) const {
    return (plane / channels) * image_stride + ((plane % channels) * taps + tap_row) * row_stride +
           l;
  }
};

// cols (N, C kh kw, L) <- x (N C, H, W)
template <typename T>
__global__ void im2col_kernel(const T* x, heed_window2d w, ColsLayout layout, int64_t height,
                              int64_t width, int64_t total, T* cols) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    int64_t rest = t;
    const int64_t bx = rest % w.blocks[1];
    rest /= w.blocks[1];
    const int64_t by = rest % w.blocks[0];
    rest /= w.blocks[0];
    const int64_t j = rest % w.kernel[1];
    rest /= w.kernel[1];
    const int64_t i = rest % w.kernel[0];
    const int64_t plane = rest / w.kernel[0];
    const int64_t y = by * w.stride[0] - w.padding[0] + i * w.dilation[0];
    const int64_t xx = bx * w.stride[1] - w.padding[1] + j * w.dilation[1];
    const bool inside = y >= 0 && y < height && xx >= 0 && xx < width;
    cols[layout.offset(plane, i * w.kernel[1] + j, w.kernel[0] * w.kernel[1],
                       by * w.blocks[1] + bx)] =
        inside ? x[(plane * height + y) * width + xx] : T(0);
  }
}

// The placement along one axis whose tap `tap` reads pixel `pixel`, or -1 when none does.
__device__ inline int64_t block_reading(int64_t pixel, int64_t tap, int64_t stride, int64_t padding,
                                        int64_t dilation, int64_t blocks) {
  const int64_t start = pixel + padding - tap * dilation;  // = block * stride
  if (start < 0 || start % stride != 0) return -1;
  const int64_t block = start / stride;
  return block < blocks ? block : -1;
}

// x (N C, H, W) <- sum of cols (N, C kh kw, L) over the taps reading each pixel
template <typename T>
__global__ void col2im_kernel(const T* cols, heed_window2d w, ColsLayout layout, int64_t height,
                              int64_t width, int64_t total, T* x) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t xx = t % width, y = (t / width) % height, plane = t / (width * height);
    T sum = 0;
    for (int64_t i = 0; i < w.kernel[0]; ++i) {
      const int64_t by = block_reading(y, i, w.stride[0], w.padding[0], w.dilation[0], w.blocks[0]);
      if (by < 0) continue;
      for (int64_t j = 0; j < w.kernel[1]; ++j) {
        const int64_t bx =
            block_reading(xx, j, w.stride[1], w.padding[1], w.dilation[1], w.blocks[1]);
        if (bx < 0) continue;
        sum += cols[layout.offset(plane, i * w.kernel[1] + j, w.kernel[0] * w.kernel[1],
                                  by * w.blocks[1] + bx)];
      }
    }
    x[t] = sum;
  }
}

ColsLayout layout_of(const heed_view* image, const heed_view* cols) {
  return {image->shape[1], cols->strides[0], cols->strides[1]};
}

}  // namespace

int im2col(const heed_view* x, const heed_window2d* window, const heed_view* cols) {
  const int64_t total = numel(*cols);
  if (total == 0) return 0;
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    im2col_kernel<T><<<blocks_for(total), kThreads>>>(static_cast<const T*>(x->data), *window,
                                                      layout_of(x, cols), x->shape[2], x->shape[3],
                                                      total, static_cast<T*>(cols->data));
  });
  return check_launch("im2col");
}

int col2im(const heed_view* cols, const heed_window2d* window, const heed_view* x) {
  const int64_t total = numel(*x);
  if (total == 0) return 0;
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    col2im_kernel<T><<<blocks_for(total), kThreads>>>(static_cast<const T*>(cols->data), *window,
                                                      layout_of(x, cols), x->shape[2], x->shape[3],
                                                      total, static_cast<T*>(x->data));
  });
  return check_launch("col2im");
}

}  // namespace heed::cuda
