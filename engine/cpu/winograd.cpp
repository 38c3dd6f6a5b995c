// Winograd's minimal filtering F(2x2, 3x3) for 3x3 convolutions at stride 1 (Lavin and Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2016), the CPU's conv2d where it applies.
//
// Cut the output into 2x2 tiles; each reads a 4x4 patch d of every input channel. With the 3x3
// filter g of (output o, input c), the tile is
//   y_tile = A^T [ (G g G^T) * (B^T d B) ] A          (* elementwise, over a 4x4 grid)
// with the fixed matrices below: 16 multiplications per tile and channel pair where the direct
// sum takes 36. Summed over input channels, each of the 16 grid positions xi is one product:
//   M[xi] (O, tiles) = U[xi] (O, C) @ V[xi] (C, tiles),   U = G g G^T,  V = B^T d B
// so a convolution becomes three passes: transform the input patches (V), 16 matrix products
// (OpenBLAS), transform each tile back (A^T M A) into y. The products do 16/36 of the direct
// convolution's multiply-adds; the transforms are additions and halvings, exact enough that
// float32 results agree with the direct sum to a few units in the last place of the largest
// terms. The batch goes in chunks of images, as in engine/cpu/conv2d.cpp, so V and M stay in
// cache.
#include <algorithm>
#include <vector>

#include "engine/cpu/conv2d.hpp"

namespace heed::cpu {

namespace {

constexpr int64_t kTilesPerProduct = 256;  // columns of each chunk's products
constexpr int64_t kGrid = 16;              // the 4x4 transformed tile

// The 2x2 output tiles covering a (bh, bw) output: ceil(bh / 2) x ceil(bw / 2).
struct Tiles {
  int64_t rows, cols;
  int64_t per_image() const { return rows * cols; }
};

// G g G^T for a 3x3 filter g (row-major): G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
template <typename T>
void transform_filter(const T* g, T* u) {
  T gt[4][3];  // G g: the rows of g combined
  for (int col = 0; col < 3; ++col) {
    const T g0 = g[col], g1 = g[3 + col], g2 = g[6 + col];
    gt[0][col] = g0;
    gt[1][col] = (g0 + g1 + g2) / 2;
    gt[2][col] = (g0 - g1 + g2) / 2;
    gt[3][col] = g2;
  }
  for (int row = 0; row < 4; ++row) {  // (G g) G^T: the columns combined the same way
    const T g0 = gt[row][0], g1 = gt[row][1], g2 = gt[row][2];
    u[row * 4 + 0] = g0;
    u[row * 4 + 1] = (g0 + g1 + g2) / 2;
    u[row * 4 + 2] = (g0 - g1 + g2) / 2;
    u[row * 4 + 3] = g2;
  }
}

// U (16, O, C/g): every filter transformed, grid position outermost so that U[xi] of a group is
// an (O/g, C/g) matrix.
template <typename T>
std::vector<T> transformed_filters(const ConvGeometry& g, const T* weight) {
  const int64_t Cg = g.C / g.groups;
  std::vector<T> u(static_cast<size_t>(kGrid * g.O * Cg));
  for (int64_t o = 0; o < g.O; ++o) {
    for (int64_t c = 0; c < Cg; ++c) {
      T grid[kGrid];
      transform_filter(weight + (o * Cg + c) * 9, grid);
      for (int64_t xi = 0; xi < kGrid; ++xi)
        u[static_cast<size_t>((xi * g.O + o) * Cg + c)] = grid[xi];
    }
  }
  return u;
}

// V (16, C, tiles) for images [first, first + images): each tile's 4x4 patch of each channel,
// transformed. One row of tiles at a time, every step a loop along the row (which the compiler
// vectorizes): B^T down the columns of the four input rows the tiles read, then B along each
// row, tile by tile, into the 16 planes of V. Rows above or below the image read a row of zeros;
// the columns left and right of it are zeros written once. `work` is scratch for 5 rows of
// 2 tiles.cols + 2 + W values.
template <typename T>
void transform_inputs(const ConvGeometry& g, const heed_window2d& window, const Tiles& tiles,
                      const T* x, int64_t first, int64_t images, T* v, T* work) {
  const int64_t chunk_tiles = images * tiles.per_image();
  const int64_t width = 2 * tiles.cols + 2 + g.W;  // the patches' columns: 2 tx - padding + s
  const int64_t left = window.padding[1];          // column k reads the image's column k - left
  const int64_t inside_end = std::min(left + g.W, width);
  T* columns = work;            // (4, width): B^T down each column of the four rows
  T* zeros = work + 4 * width;  // (W): the rows outside the image
  std::fill(work, work + 5 * width, T(0));
  for (int64_t image = 0; image < images; ++image) {
    for (int64_t c = 0; c < g.C; ++c) {
      const T* plane = x + ((first + image) * g.C + c) * g.H * g.W;  // (H, W)
      for (int64_t ty = 0; ty < tiles.rows; ++ty) {
        const T* rows[4];
        for (int64_t r = 0; r < 4; ++r) {
          const int64_t y = 2 * ty - window.padding[0] + r;
          rows[r] = y >= 0 && y < g.H ? plane + y * g.W : zeros;
        }
        for (int64_t k = std::min(left, width); k < inside_end; ++k) {
          const T d0 = rows[0][k - left], d1 = rows[1][k - left], d2 = rows[2][k - left],
                  d3 = rows[3][k - left];
          columns[k] = d0 - d2;  // B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
          columns[width + k] = d1 + d2;
          columns[2 * width + k] = d2 - d1;
          columns[3 * width + k] = d1 - d3;
        }
        const int64_t first_tile = (image * tiles.rows + ty) * tiles.cols;
        for (int64_t r = 0; r < 4; ++r) {
          const T* in = columns + r * width;
          // grid position (r, s) of every tile of the row: plane (4 r + s), channel c
          T* out0 = v + ((r * 4 + 0) * g.C + c) * chunk_tiles + first_tile;
          T* out1 = v + ((r * 4 + 1) * g.C + c) * chunk_tiles + first_tile;
          T* out2 = v + ((r * 4 + 2) * g.C + c) * chunk_tiles + first_tile;
          T* out3 = v + ((r * 4 + 3) * g.C + c) * chunk_tiles + first_tile;
          for (int64_t tx = 0; tx < tiles.cols; ++tx) {
            const T d0 = in[2 * tx], d1 = in[2 * tx + 1], d2 = in[2 * tx + 2], d3 = in[2 * tx + 3];
            out0[tx] = d0 - d2;
            out1[tx] = d1 + d2;
            out2[tx] = d2 - d1;
            out3[tx] = d1 - d3;
          }
        }
      }
    }
  }
}

// y (+ bias) from M (16, O, tiles): A^T m A for each tile, A^T = [1 1 1 0; 0 1 -1 -1], the
// rows and columns past the output's edge dropped. One row of tiles at a time, each step a loop
// along the row: A^T down the 4x4 grids' columns, then A along their rows into y.
// `work` is scratch for 8 rows of tiles.cols values.
template <typename T>
void transform_outputs(const ConvGeometry& g, const heed_window2d& window, const Tiles& tiles,
                       const T* m, const T* bias, int64_t first, int64_t images, T* y, T* work) {
  const int64_t chunk_tiles = images * tiles.per_image();
  const int64_t bh = window.blocks[0], bw = window.blocks[1], tw = tiles.cols;
  const int64_t whole = bw / 2;  // tiles whose two columns are both inside the output
  for (int64_t image = 0; image < images; ++image) {
    for (int64_t o = 0; o < g.O; ++o) {
      T* plane = y + ((first + image) * g.O + o) * bh * bw;  // (bh, bw)
      const T b = bias == nullptr ? T(0) : bias[o];
      for (int64_t ty = 0; ty < tiles.rows; ++ty) {
        const int64_t first_tile = (image * tiles.rows + ty) * tw;
        const auto grid = [&](int64_t xi) { return m + (xi * g.O + o) * chunk_tiles + first_tile; };
        for (int64_t s = 0; s < 4; ++s) {  // A^T down column s of every tile's grid
          const T *m0 = grid(s), *m1 = grid(4 + s), *m2 = grid(8 + s), *m3 = grid(12 + s);
          T* top = work + s * tw;           // (A^T m)[0][s] per tile
          T* bottom = work + (4 + s) * tw;  // (A^T m)[1][s] per tile
          for (int64_t tx = 0; tx < tw; ++tx) {
            top[tx] = m0[tx] + m1[tx] + m2[tx];
            bottom[tx] = m1[tx] - m2[tx] - m3[tx];
          }
        }
        for (int64_t a = 0; a < 2 && 2 * ty + a < bh; ++a) {  // then A along each row
          const T *h0 = work + 4 * a * tw, *h1 = h0 + tw, *h2 = h1 + tw, *h3 = h2 + tw;
          T* out = plane + (2 * ty + a) * bw;
          for (int64_t tx = 0; tx < whole; ++tx) {
            out[2 * tx] = h0[tx] + h1[tx] + h2[tx] + b;
            out[2 * tx + 1] = h1[tx] - h2[tx] - h3[tx] + b;
          }
          if (whole < tw) out[2 * whole] = h0[whole] + h1[whole] + h2[whole] + b;  // odd bw
        }
      }
    }
  }
}

}  // namespace

bool winograd_applies(const ConvGeometry& g, const heed_window2d& window) {
  const bool three_by_three_at_stride_one = window.kernel[0] == 3 && window.kernel[1] == 3 &&
                                            window.stride[0] == 1 && window.stride[1] == 1 &&
                                            window.dilation[0] == 1 && window.dilation[1] == 1;
  // With few channels the products are thin, and on small maps each row of tiles is short: the
  // transforms' passes then cost more than the multiplications saved (measured: a (64, 32, 4, 4)
  // -> 64 convolution took half as long again; the first layer of an image model, 1 or 3
  // channels, stays on im2col too).
  constexpr int64_t kMinChannels = 8, kMinSide = 8;
  return three_by_three_at_stride_one && g.C / g.groups >= kMinChannels &&
         g.group_outputs() >= kMinChannels && window.blocks[0] >= kMinSide &&
         window.blocks[1] >= kMinSide;
}

template <typename T>
int winograd_forward(const ConvGeometry& g, const heed_window2d& window, const T* x,
                     const T* weight, const T* bias, T* y) {
  const Tiles tiles{(window.blocks[0] + 1) / 2, (window.blocks[1] + 1) / 2};
  const Chunking cut = chunking_of(g, tiles.per_image(), kTilesPerProduct);
  const int64_t Cg = g.C / g.groups, Og = g.group_outputs();
  const int64_t chunk_tiles = cut.images * tiles.per_image();
  const int64_t work = 8 * (2 * tiles.cols + 2 + g.W);                  // the transforms' rows
  const int64_t per_worker = kGrid * (g.C + g.O) * chunk_tiles + work;  // V, M, work
  const std::vector<T> u = transformed_filters(g, weight);              // (16, O, C/g)
  const Scratch<T> scratch(cut.workers * per_worker);
  if (scratch.data() == nullptr) return report_error("conv2d_forward", "no memory for scratch", 0);
  for_each_chunk(g, cut, [&](int64_t worker, int64_t first, int64_t images) {
    T* v = scratch.data() + worker * per_worker;  // (16, C, tiles)
    T* m = v + kGrid * g.C * chunk_tiles;         // (16, O, tiles)
    T* work_rows = m + kGrid * g.O * chunk_tiles;
    const int64_t n = images * tiles.per_image();  // this chunk's tiles: the products' columns
    // V and M are laid out with this chunk's n columns (a last chunk may have fewer images)
    transform_inputs(g, window, tiles, x, first, images, v, work_rows);
    for (int64_t xi = 0; xi < kGrid; ++xi) {
      for (int64_t group = 0; group < g.groups; ++group) {
        // M[xi] of the group (O/g, n) = U[xi] (O/g, C/g) @ V[xi] (C/g, n)
        gemm_row_major<T>(
            CblasNoTrans, CblasNoTrans, Og, n, Cg, T(1), u.data() + (xi * g.O + group * Og) * Cg,
            Cg, v + (xi * g.C + group * Cg) * n, n, T(0), m + (xi * g.O + group * Og) * n, n);
      }
    }
    transform_outputs(g, window, tiles, m, bias, first, images, y, work_rows);
  });
  return 0;
}

template int winograd_forward<float>(const ConvGeometry&, const heed_window2d&, const float*,
                                     const float*, const float*, float*);
template int winograd_forward<double>(const ConvGeometry&, const heed_window2d&, const double*,
                                      const double*, const double*, double*);

}  // namespace heed::cpu
