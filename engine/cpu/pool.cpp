// CPU max pooling's choice of pixel: one (image, channel) plane per task. For each placement the
// taps inside the image are worked out first (a range of rows and of columns), so the inner loop
// compares pixels with no bounds test; the padding never competes.
#include <algorithm>
#include <cmath>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"
#include "engine/dtype_dispatch.hpp"

namespace heed::cpu {

namespace {

// The taps t in [0, kernel) of a placement starting at `start` whose pixel start + t * dilation
// lies in [0, size).
struct TapRange {
  int64_t begin, end;
};
TapRange taps_inside(int64_t start, int64_t dilation, int64_t kernel, int64_t size) {
  const int64_t begin = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  const int64_t end = start >= size ? 0 : std::min(kernel, (size - 1 - start) / dilation + 1);
  return {std::min(begin, end), end};
}

template <typename T>
void max_pool_planes(const T* x, const heed_window2d& w, int64_t planes, int64_t height,
                     int64_t width, int64_t* indices) {
  const int64_t bh = w.blocks[0], bw = w.blocks[1];
  parallel_range(planes, 1, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const T* image = x + plane * height * width;
      int64_t* chosen = indices + plane * bh * bw;
      for (int64_t by = 0; by < bh; ++by) {
        const int64_t y0 = by * w.stride[0] - w.padding[0];
        const TapRange rows = taps_inside(y0, w.dilation[0], w.kernel[0], height);
        for (int64_t bx = 0; bx < bw; ++bx) {
          const int64_t x0 = bx * w.stride[1] - w.padding[1];
          const TapRange columns = taps_inside(x0, w.dilation[1], w.kernel[1], width);
          int64_t best =
              (y0 + rows.begin * w.dilation[0]) * width + x0 + columns.begin * w.dilation[1];
          for (int64_t i = rows.begin; i < rows.end; ++i) {
            const int64_t row = (y0 + i * w.dilation[0]) * width + x0;
            for (int64_t j = columns.begin; j < columns.end; ++j) {
              const int64_t pixel = row + j * w.dilation[1];
              if (image[pixel] > image[best] || std::isnan(image[pixel])) best = pixel;
            }
          }
          chosen[by * bw + bx] = best;
        }
      }
    }
  });
}

}  // namespace

int max_pool2d_indices(const heed_view* x, const heed_window2d* window, const heed_view* indices) {
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    max_pool_planes(typed<const T>(x), *window, x->shape[0] * x->shape[1], x->shape[2], x->shape[3],
                    typed<int64_t>(indices));
  });
  return 0;
}

}  // namespace heed::cpu
