// One (image, channel) plane of im2col and of col2im, the data movements around a convolution's
// matrix product. engine/cpu/conv.cpp spreads the planes of a batch over the threads;
// engine/cpu/conv2d.cpp walks a few images' planes on one thread, between its products.
//
// Along a long row of columns at stride 1, the taps that land inside the image form one run,
// worked out once per tap: the run is a copy, the padding on either side zeros. Short or strided
// rows go element by element, from tables of the rows and columns each tap reads (tap_sources).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/backend.hpp"

namespace heed::cpu {

// Along a row at stride 1, the placements bx in [0, blocks) whose tap at `offset` (= tap *
// dilation - padding) reads a pixel inside [0, size): bx + offset in [0, size). (Strided rows
// go through tap_sources below.)
struct InsideRun {
  int64_t begin, end;
};
inline InsideRun inside_run(int64_t offset, int64_t size, int64_t blocks) {
  const int64_t begin = std::clamp<int64_t>(-offset, 0, blocks);
  const int64_t end = std::clamp<int64_t>(size - offset, begin, blocks);
  return {begin, end};
}

// Images (N, C, H, W) as N * C planes of H x W pixels, and where each plane's rows of columns
// start: plane (n, c) owns rows (c, i, j) of image n, kh kw rows of L apart by the row stride.
struct Planes {
  int64_t count, channels, height, width;
  int64_t image_stride, row_stride;  // the columns' strides for n and for (c, i, j)
  int64_t first_row(int64_t plane, int64_t taps) const {
    return (plane / channels) * image_stride + (plane % channels) * taps * row_stride;
  }
};

// A tap's row of cols when the window moves one pixel at a time and the output is as wide as the
// image (a "same" convolution: 3x3 with padding 1, and the like). The row is then the image
// itself shifted by (shift_y, shift_x) = (i dilation - padding, j dilation - padding): one block
// copy of the rows that land inside, then zeros for the rows above and below and for the columns
// whose pixel falls off the left or right edge (the block copy put a neighbouring row's pixel
// there).
template <typename T>
void shifted_image_row(const T* image, int64_t height, int64_t width, int64_t output_rows,
                       int64_t shift_y, int64_t shift_x, T* row) {
  const int64_t first = std::clamp<int64_t>(-shift_y, 0, output_rows);  // output rows inside
  const int64_t last = std::clamp<int64_t>(height - shift_y, first, output_rows);
  std::fill(row, row + first * width, T(0));
  std::fill(row + last * width, row + output_rows * width, T(0));
  if (first == last) return;
  // row[q] = image[q + shift] for q in [first width, last width), kept inside the image
  const int64_t shift = shift_y * width + shift_x;
  const int64_t begin = std::max(first * width, -shift);
  const int64_t end = std::min(last * width, height * width - shift);
  if (begin < end) std::memcpy(row + begin, image + (begin + shift), sizeof(T) * (end - begin));
  // column by column: the edges are a pixel or two wide, and a loop along a row that short
  // would become a library call per row
  const InsideRun run = inside_run(shift_x, width, width);
  const auto zero_column = [&](int64_t bx) {
    for (int64_t by = first; by < last; ++by) row[by * width + bx] = T(0);
  };
  for (int64_t bx = 0; bx < run.begin; ++bx) zero_column(bx);
  for (int64_t bx = run.end; bx < width; ++bx) zero_column(bx);
}

// Whether a tap's rows are better done element by element: rows shorter than kShortRow, or
// strided ones (a pixel every few). Working out the run of pixels inside and filling its ends
// around a copy costs more than such a row.
inline bool short_or_strided(const heed_window2d& w) {
  constexpr int64_t kShortRow = 16;
  return w.blocks[1] < kShortRow || w.stride[1] != 1;
}

// Where short_or_strided: which image row each tap row i reads at each placement row by, and
// which column each tap column j reads at each placement column bx, -1 in the padding. The same
// for every plane, so worked out once per call (kh bh + kw bw entries); empty elsewhere.
struct TapSources {
  std::vector<int64_t> rows, columns;  // (kh, bh), (kw, bw)
  bool empty() const { return rows.empty(); }
};
inline TapSources tap_sources(const heed_window2d& w, int64_t height, int64_t width) {
  if (!short_or_strided(w)) return {};
  const auto along = [](int64_t taps, int64_t blocks, int64_t stride, int64_t dilation,
                        int64_t padding, int64_t size) {
    std::vector<int64_t> sources(static_cast<size_t>(taps * blocks));
    for (int64_t tap = 0; tap < taps; ++tap)
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t at = b * stride + tap * dilation - padding;
        sources[static_cast<size_t>(tap * blocks + b)] = at >= 0 && at < size ? at : -1;
      }
    return sources;
  };
  return {along(w.kernel[0], w.blocks[0], w.stride[0], w.dilation[0], w.padding[0], height),
          along(w.kernel[1], w.blocks[1], w.stride[1], w.dilation[1], w.padding[1], width)};
}

// Plane `plane` of x into its kh kw rows of cols (each L = blocks[0] blocks[1] long); `sources`
// from tap_sources.
template <typename T>
void im2col_plane(const T* x, const heed_window2d& w, const Planes& p, int64_t plane,
                  const TapSources& sources, T* cols) {
  const int64_t kh = w.kernel[0], kw = w.kernel[1], bh = w.blocks[0], bw = w.blocks[1];
  const T* image = x + plane * p.height * p.width;
  T* out = cols + p.first_row(plane, kh * kw);  // this plane's first row of cols
  if (w.stride[0] == 1 && w.stride[1] == 1 && bw == p.width) {
    for (int64_t i = 0; i < kh; ++i) {
      for (int64_t j = 0; j < kw; ++j, out += p.row_stride) {
        shifted_image_row(image, p.height, p.width, bh, i * w.dilation[0] - w.padding[0],
                          j * w.dilation[1] - w.padding[1], out);
      }
    }
    return;
  }
  for (int64_t i = 0; i < kh; ++i) {
    for (int64_t j = 0; j < kw; ++j, out += p.row_stride) {
      // pixel (by, bx) of the tap's row reads the image at (by stride + y_offset, bx stride +
      // x_offset)
      const int64_t y_offset = i * w.dilation[0] - w.padding[0];
      const int64_t x_offset = j * w.dilation[1] - w.padding[1];
      if (!sources.empty()) {  // short or strided rows: element by element
        const int64_t* columns = sources.columns.data() + j * bw;  // (bw)
        for (int64_t by = 0; by < bh; ++by) {
          const int64_t y = sources.rows[static_cast<size_t>(i * bh + by)];
          for (int64_t bx = 0; bx < bw; ++bx) {
            const bool inside = y >= 0 && columns[bx] >= 0;
            out[by * bw + bx] = inside ? image[y * p.width + columns[bx]] : T(0);
          }
        }
        continue;
      }
      const InsideRun run = inside_run(x_offset, p.width, bw);  // along every row
      for (int64_t by = 0; by < bh; ++by) {
        T* row = out + by * bw;
        const int64_t y = by * w.stride[0] + y_offset;
        if (y < 0 || y >= p.height) {
          std::fill(row, row + bw, T(0));
          continue;
        }
        const T* pixels = image + y * p.width;  // the image's row y
        std::fill(row, row + run.begin, T(0));
        std::copy(pixels + (x_offset + run.begin), pixels + (x_offset + run.end), row + run.begin);
        std::fill(row + run.end, row + bw, T(0));
      }
    }
  }
}

// Plane `plane` of x = 0, then every element of its kh kw rows of cols added to the pixel it was
// read from; `sources` from tap_sources.
template <typename T>
void col2im_plane(const T* cols, const heed_window2d& w, const Planes& p, int64_t plane,
                  const TapSources& sources, T* x) {
  const int64_t kh = w.kernel[0], kw = w.kernel[1], bh = w.blocks[0], bw = w.blocks[1];
  T* image = x + plane * p.height * p.width;
  std::fill(image, image + p.height * p.width, T(0));
  const T* in = cols + p.first_row(plane, kh * kw);
  for (int64_t i = 0; i < kh; ++i) {
    for (int64_t j = 0; j < kw; ++j, in += p.row_stride) {
      const int64_t y_offset = i * w.dilation[0] - w.padding[0];  // as in im2col_plane
      const int64_t x_offset = j * w.dilation[1] - w.padding[1];
      if (!sources.empty()) {  // short or strided rows: element by element
        const int64_t* columns = sources.columns.data() + j * bw;  // (bw)
        for (int64_t by = 0; by < bh; ++by) {
          const int64_t y = sources.rows[static_cast<size_t>(i * bh + by)];
          if (y < 0) continue;
          for (int64_t bx = 0; bx < bw; ++bx)
            if (columns[bx] >= 0) image[y * p.width + columns[bx]] += in[by * bw + bx];
        }
        continue;
      }
      const InsideRun run = inside_run(x_offset, p.width, bw);
      for (int64_t by = 0; by < bh; ++by) {
        const int64_t y = by * w.stride[0] + y_offset;
        if (y < 0 || y >= p.height) continue;
        const T* row = in + by * bw;
        T* pixels = image + y * p.width;  // the image's row y
        // contiguous both sides: a loop the compiler vectorizes
        for (int64_t bx = run.begin; bx < run.end; ++bx) pixels[x_offset + bx] += row[bx];
      }
    }
  }
}

}  // namespace heed::cpu
