// CPU im2col and col2im, the two data movements a convolution needs around its one matrix
// product (engine/ops/conv.cpp). One (image, channel) plane per task: im2col writes that plane's
// rows of cols, col2im owns that plane of x, so no two tasks write the same element. Along a
// row, the taps that land inside the image form one run, worked out once per row: the run is a
// copy (a memcpy at stride 1), the padding on either side a fill.
#include <algorithm>
#include <cstring>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"
#include "engine/dtype_dispatch.hpp"

namespace heed::cpu {

namespace {

// The placements bx in [0, blocks) whose tap at `offset` (= tap * dilation - padding) reads a
// pixel inside [0, size): bx * stride + offset in [0, size).
struct InsideRun {
  int64_t begin, end;
};
InsideRun inside_run(int64_t offset, int64_t stride, int64_t size, int64_t blocks) {
  // smallest bx with bx * stride + offset >= 0, and first bx with bx * stride + offset >= size
  const auto first_at_least = [&](int64_t bound) {
    const int64_t need = bound - offset;
    return need <= 0 ? 0 : (need + stride - 1) / stride;
  };
  const int64_t begin = std::min(first_at_least(0), blocks);
  const int64_t end = std::max(begin, std::min(first_at_least(size), blocks));
  return {begin, end};
}

// An image (N, C, H, W) as N * C planes of H x W pixels, and where each plane's rows of cols
// start: plane (n, c) owns rows (c, i, j) of image n, kh kw rows of L apart by the row stride.
struct Planes {
  int64_t count, channels, height, width;
  int64_t image_stride, row_stride;  // cols' strides for n and for (c, i, j)
  int64_t first_row(int64_t plane, int64_t taps) const {
    return (plane / channels) * image_stride + (plane % channels) * taps * row_stride;
  }
};
Planes planes_of(const heed_view* image, const heed_view* cols) {
  return {image->shape[0] * image->shape[1],
          image->shape[1],
          image->shape[2],
          image->shape[3],
          cols->strides[0],
          cols->strides[1]};
}

template <typename T>
void im2col_planes(const T* x, const heed_window2d& w, const Planes& p, T* cols) {
  const int64_t kh = w.kernel[0], kw = w.kernel[1], bh = w.blocks[0], bw = w.blocks[1];
  parallel_range(p.count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const T* image = x + plane * p.height * p.width;
      T* out = cols + p.first_row(plane, kh * kw);  // this plane's first row of cols
      for (int64_t i = 0; i < kh; ++i) {
        for (int64_t j = 0; j < kw; ++j, out += p.row_stride) {
          const int64_t x_offset = j * w.dilation[1] - w.padding[1];
          const InsideRun run = inside_run(x_offset, w.stride[1], p.width, bw);
          for (int64_t by = 0; by < bh; ++by) {
            T* row = out + by * bw;
            const int64_t y = by * w.stride[0] - w.padding[0] + i * w.dilation[0];
            if (y < 0 || y >= p.height) {
              std::fill(row, row + bw, T(0));
              continue;
            }
            const int64_t source = y * p.width + x_offset;  // + bx * stride: the pixel bx reads
            std::fill(row, row + run.begin, T(0));
            if (run.end == run.begin) {
              // every tap of this row falls in the padding
            } else if (w.stride[1] == 1) {
              std::memcpy(row + run.begin, image + source + run.begin,
                          sizeof(T) * (run.end - run.begin));
            } else {
              for (int64_t bx = run.begin; bx < run.end; ++bx)
                row[bx] = image[source + bx * w.stride[1]];
            }
            std::fill(row + run.end, row + bw, T(0));
          }
        }
      }
    }
  });
}

template <typename T>
void col2im_planes(const T* cols, const heed_window2d& w, const Planes& p, T* x) {
  const int64_t kh = w.kernel[0], kw = w.kernel[1], bh = w.blocks[0], bw = w.blocks[1];
  parallel_range(p.count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      T* image = x + plane * p.height * p.width;
      std::fill(image, image + p.height * p.width, T(0));
      const T* in = cols + p.first_row(plane, kh * kw);
      for (int64_t i = 0; i < kh; ++i) {
        for (int64_t j = 0; j < kw; ++j, in += p.row_stride) {
          const int64_t x_offset = j * w.dilation[1] - w.padding[1];
          const InsideRun run = inside_run(x_offset, w.stride[1], p.width, bw);
          for (int64_t by = 0; by < bh; ++by) {
            const int64_t y = by * w.stride[0] - w.padding[0] + i * w.dilation[0];
            if (y < 0 || y >= p.height) continue;
            const T* row = in + by * bw;
            const int64_t target = y * p.width + x_offset;  // + bx * stride: the pixel bx read
            for (int64_t bx = run.begin; bx < run.end; ++bx)
              image[target + bx * w.stride[1]] += row[bx];
          }
        }
      }
    }
  });
}

}  // namespace

int im2col(const heed_view* x, const heed_window2d* window, const heed_view* cols) {
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    im2col_planes(typed<const T>(x), *window, planes_of(x, cols), typed<T>(cols));
  });
  return 0;
}

int col2im(const heed_view* cols, const heed_window2d* window, const heed_view* x) {
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    col2im_planes(typed<const T>(cols), *window, planes_of(x, cols), typed<T>(x));
  });
  return 0;
}

}  // namespace heed::cpu
