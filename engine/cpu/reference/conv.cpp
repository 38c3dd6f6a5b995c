// The naive im2col and col2im: one loop over every element of cols in order, each tap's pixel
// found and bounds-tested on its own. The fast kernels in engine/cpu/conv.cpp are tested against
// these (ReferenceKernelsGuard).
#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"
#include "engine/dtype_dispatch.hpp"

namespace heed::cpu::reference {

namespace {

// Calls visit(cols_offset, pixel_index) for every element of cols (n, (c, i, j), (by, bx)),
// found through cols' strides, whose tap reads a pixel inside the image, and
// visit(cols_offset, -1) for the padding taps.
template <typename Visit>
void for_each_tap(const heed_view* image, const heed_view* cols, const heed_window2d& w,
                  Visit&& visit) {
  const int64_t images = image->shape[0], channels = image->shape[1];
  const int64_t height = image->shape[2], width = image->shape[3];
  for (int64_t n = 0; n < images; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < w.kernel[0]; ++i) {
        for (int64_t j = 0; j < w.kernel[1]; ++j) {
          const int64_t row = (c * w.kernel[0] + i) * w.kernel[1] + j;
          for (int64_t by = 0; by < w.blocks[0]; ++by) {
            for (int64_t bx = 0; bx < w.blocks[1]; ++bx) {
              const int64_t offset =
                  n * cols->strides[0] + row * cols->strides[1] + by * w.blocks[1] + bx;
              const int64_t y = by * w.stride[0] - w.padding[0] + i * w.dilation[0];
              const int64_t x = bx * w.stride[1] - w.padding[1] + j * w.dilation[1];
              const bool inside = y >= 0 && y < height && x >= 0 && x < width;
              visit(offset, inside ? ((n * channels + c) * height + y) * width + x : int64_t{-1});
            }
          }
        }
      }
    }
  }
}

}  // namespace

int im2col(const heed_view* x, const heed_window2d* window, const heed_view* cols) {
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    for_each_tap(x, cols, *window, [&](int64_t at, int64_t pixel) {
      typed<T>(cols)[at] = pixel < 0 ? T(0) : typed<T>(x)[pixel];
    });
  });
  return 0;
}

int col2im(const heed_view* cols, const heed_window2d* window, const heed_view* x) {
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    const int64_t pixels = x->shape[0] * x->shape[1] * x->shape[2] * x->shape[3];
    for (int64_t p = 0; p < pixels; ++p) typed<T>(x)[p] = T(0);
    for_each_tap(x, cols, *window, [&](int64_t at, int64_t pixel) {
      if (pixel >= 0) typed<T>(x)[pixel] += typed<T>(cols)[at];
    });
  });
  return 0;
}

}  // namespace heed::cpu::reference
