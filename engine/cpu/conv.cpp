// CPU im2col and col2im, the two data movements a convolution needs around its matrix products
// (engine/ops/conv.cpp). One (image, channel) plane per task (engine/cpu/im2col.hpp): im2col
// writes that plane's rows of cols, col2im owns that plane of x, so no two tasks write the same
// element.
#include "engine/cpu/im2col.hpp"
#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"
#include "engine/dtype_dispatch.hpp"

namespace heed::cpu {

namespace {

Planes planes_of(const heed_view* image, const heed_view* cols) {
  return {image->shape[0] * image->shape[1],
          image->shape[1],
          image->shape[2],
          image->shape[3],
          cols->strides[0],
          cols->strides[1]};
}

}  // namespace

int im2col(const heed_view* x, const heed_window2d* window, const heed_view* cols) {
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    const Planes planes = planes_of(x, cols);
    const TapSources sources = tap_sources(*window, planes.height, planes.width);
    parallel_range(planes.count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane)
        im2col_plane(typed<const T>(x), *window, planes, plane, sources, typed<T>(cols));
    });
  });
  return 0;
}

int col2im(const heed_view* cols, const heed_window2d* window, const heed_view* x) {
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    const Planes planes = planes_of(x, cols);
    const TapSources sources = tap_sources(*window, planes.height, planes.width);
    parallel_range(planes.count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane)
        col2im_plane(typed<const T>(cols), *window, planes, plane, sources, typed<T>(x));
    });
  });
  return 0;
}

}  // namespace heed::cpu
