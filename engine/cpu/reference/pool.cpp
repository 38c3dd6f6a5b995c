// The naive max pooling choice: every tap of every placement, bounds-tested one by one, padding
// skipped. The fast kernel in engine/cpu/pool.cpp is tested against it.
#include <cmath>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"
#include "engine/dtype_dispatch.hpp"

namespace heed::cpu::reference {

int max_pool2d_indices(const heed_view* x, const heed_window2d* window, const heed_view* indices) {
  const heed_window2d& w = *window;
  const int64_t planes = x->shape[0] * x->shape[1], height = x->shape[2], width = x->shape[3];
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    int64_t* chosen = typed<int64_t>(indices);
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T* image = typed<const T>(x) + plane * height * width;
      for (int64_t by = 0; by < w.blocks[0]; ++by) {
        for (int64_t bx = 0; bx < w.blocks[1]; ++bx) {
          int64_t best = -1;  // no pixel yet
          for (int64_t i = 0; i < w.kernel[0]; ++i) {
            for (int64_t j = 0; j < w.kernel[1]; ++j) {
              const int64_t y = by * w.stride[0] - w.padding[0] + i * w.dilation[0];
              const int64_t xx = bx * w.stride[1] - w.padding[1] + j * w.dilation[1];
              if (y < 0 || y >= height || xx < 0 || xx >= width) continue;
              const int64_t pixel = y * width + xx;
              if (best < 0 || image[pixel] > image[best] || std::isnan(image[pixel])) best = pixel;
            }
          }
          *chosen++ = best;
        }
      }
    }
  });
  return 0;
}

}  // namespace heed::cpu::reference
