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
// convolution's multiply-adds; the transforms are additions and halvings (tests/test_conv.cpp
// holds float32 results to the composed convolution within 1e-5). The same identity with the
// roles of output and filter exchanged, F(3x3, 2x2), gives the weight's gradient (further
// down). The batch goes in chunks of images, as in engine/cpu/conv2d.cpp, so V and M stay in
// cache.
#include <algorithm>
#include <vector>

#include "engine/cpu/conv2d.hpp"
#include "engine/cpu/fast_math.hpp"  // HEED_ALSO_FOR_AVX2

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

// The transforms' inner loops, one row (of pixels or of tiles) at a time. Their arguments never
// overlap (__restrict), so the compiler vectorizes each loop; the transforms that call them are
// built twice (HEED_ALSO_FOR_AVX2), for AVX2 machines and for any x86-64.

// B^T down four rows, lane by lane: B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
template <typename T>
void input_rows_down(const T* __restrict d0, const T* __restrict d1, const T* __restrict d2,
                     const T* __restrict d3, int64_t count, T* __restrict o0, T* __restrict o1,
                     T* __restrict o2, T* __restrict o3) {
  for (int64_t k = 0; k < count; ++k) {
    o0[k] = d0[k] - d2[k];
    o1[k] = d1[k] + d2[k];
    o2[k] = d2[k] - d1[k];
    o3[k] = d1[k] - d3[k];
  }
}

// B along a row of patches: tile tx reads in[2 tx .. 2 tx + 3]; o_s[tx] its value s.
template <typename T>
void input_tiles_along(const T* __restrict in, int64_t tiles, T* __restrict o0, T* __restrict o1,
                       T* __restrict o2, T* __restrict o3) {
  for (int64_t tx = 0; tx < tiles; ++tx) {
    const T d0 = in[2 * tx], d1 = in[2 * tx + 1], d2 = in[2 * tx + 2], d3 = in[2 * tx + 3];
    o0[tx] = d0 - d2;
    o1[tx] = d1 + d2;
    o2[tx] = d2 - d1;
    o3[tx] = d1 - d3;
  }
}

// A^T down a column of 4x4 grids, tile by tile: A^T = [1 1 1 0; 0 1 -1 -1].
template <typename T>
void output_grids_down(const T* __restrict m0, const T* __restrict m1, const T* __restrict m2,
                       const T* __restrict m3, int64_t tiles, T* __restrict top,
                       T* __restrict bottom) {
  for (int64_t tx = 0; tx < tiles; ++tx) {
    top[tx] = m0[tx] + m1[tx] + m2[tx];
    bottom[tx] = m1[tx] - m2[tx] - m3[tx];
  }
}

// A along a row of tiles into an output row (two pixels a tile), plus the bias.
template <typename T>
void output_tiles_along(const T* __restrict h0, const T* __restrict h1, const T* __restrict h2,
                        const T* __restrict h3, int64_t tiles, T bias, T* __restrict out) {
  for (int64_t tx = 0; tx < tiles; ++tx) {
    out[2 * tx] = h0[tx] + h1[tx] + h2[tx] + bias;
    out[2 * tx + 1] = h1[tx] - h2[tx] - h3[tx] + bias;
  }
}

// A down two rows of dy, lane by lane: A = [1 0; 1 1; 1 -1; 0 -1].
template <typename T>
void gradient_rows_down(const T* __restrict f0, const T* __restrict f1, int64_t count,
                        T* __restrict o0, T* __restrict o1, T* __restrict o2, T* __restrict o3) {
  for (int64_t k = 0; k < count; ++k) {
    o0[k] = f0[k];
    o1[k] = f0[k] + f1[k];
    o2[k] = f0[k] - f1[k];
    o3[k] = -f1[k];
  }
}

// A^T along a row of 2x2 tiles: tile tx reads in[2 tx], in[2 tx + 1].
template <typename T>
void gradient_tiles_along(const T* __restrict in, int64_t tiles, T* __restrict o0, T* __restrict o1,
                          T* __restrict o2, T* __restrict o3) {
  for (int64_t tx = 0; tx < tiles; ++tx) {
    const T f0 = in[2 * tx], f1 = in[2 * tx + 1];
    o0[tx] = f0;
    o1[tx] = f0 + f1;
    o2[tx] = f0 - f1;
    o3[tx] = -f1;
  }
}

// V (16, C, tiles) for images [first, first + images): each tile's 4x4 patch of each channel,
// transformed. One row of tiles at a time, every step a loop along the row: B^T down the
// columns of the four input rows the tiles read, then B along each row, tile by tile, into the
// 16 planes of V. Rows above or below the image read a row of zeros; the columns left and right
// of it are zeros written once. `work` is scratch for 5 rows of 2 tiles.cols + 2 + W values.
template <typename T>
HEED_ALSO_FOR_AVX2 void transform_inputs(const ConvGeometry& g, const heed_window2d& window,
                                         const Tiles& tiles, const T* x, int64_t first,
                                         int64_t images, T* v, T* work) {
  const int64_t chunk_tiles = images * tiles.per_image();
  const int64_t width = 2 * tiles.cols + 2 + g.W;  // the patches' columns: 2 tx - padding + s
  const int64_t left = window.padding[1];          // column k reads the image's column k - left
  const int64_t begin = std::min(left, width), end = std::min(left + g.W, width);
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
        // columns [begin, end) from the image's [0, end - left)
        input_rows_down(rows[0], rows[1], rows[2], rows[3], end - begin, columns + begin,
                        columns + width + begin, columns + 2 * width + begin,
                        columns + 3 * width + begin);
        const int64_t first_tile = (image * tiles.rows + ty) * tiles.cols;
        const auto plane_of = [&](int64_t xi) {
          return v + (xi * g.C + c) * chunk_tiles + first_tile;
        };
        for (int64_t r = 0; r < 4; ++r) {  // grid row r of every tile: planes 4 r .. 4 r + 3
          input_tiles_along(columns + r * width, tiles.cols, plane_of(4 * r), plane_of(4 * r + 1),
                            plane_of(4 * r + 2), plane_of(4 * r + 3));
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
HEED_ALSO_FOR_AVX2 void transform_outputs(const ConvGeometry& g, const heed_window2d& window,
                                          const Tiles& tiles, const T* m, const T* bias,
                                          int64_t first, int64_t images, T* y, T* work) {
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
          // into (A^T m)[0][s] and (A^T m)[1][s], a row of tiles each
          output_grids_down(grid(s), grid(4 + s), grid(8 + s), grid(12 + s), tw, work + s * tw,
                            work + (4 + s) * tw);
        }
        for (int64_t a = 0; a < 2 && 2 * ty + a < bh; ++a) {  // then A along each row
          const T *h0 = work + 4 * a * tw, *h1 = h0 + tw, *h2 = h1 + tw, *h3 = h2 + tw;
          T* out = plane + (2 * ty + a) * bw;
          output_tiles_along(h0, h1, h2, h3, whole, b, out);
          if (whole < tw) out[2 * whole] = h0[whole] + h1[whole] + h2[whole] + b;  // odd bw
        }
      }
    }
  }
}

// For the weight's gradient, F(3x3, 2x2): each 2x2 tile f of dy meets the same 4x4 patch d of
// the input as in the forward, and contributes to every 3x3 filter
//   dweight_tile = G^T [ (A f A^T) * (B^T d B) ] G
// (the forward's identity with the roles of output and filter exchanged). Summed over tiles,
// each grid position is one product:  S[xi] (O, C) = F[xi] (O, tiles) @ V[xi] (C, tiles)^T.
//
// F (16, O, tiles) for images [first, first + images): A f A^T of each tile of dy, zeros past
// the output's edge; A = [1 0; 1 1; 1 -1; 0 -1]. Row of tiles by row, as transform_inputs: A
// down the columns of the two rows, then A^T along each, into the 16 planes of F. `work` is
// scratch for 5 rows of 2 tiles.cols + bw values.
template <typename T>
HEED_ALSO_FOR_AVX2 void transform_output_gradients(const ConvGeometry& g,
                                                   const heed_window2d& window, const Tiles& tiles,
                                                   const T* dy, int64_t first, int64_t images, T* f,
                                                   T* work) {
  const int64_t chunk_tiles = images * tiles.per_image();
  const int64_t bh = window.blocks[0], bw = window.blocks[1];
  const int64_t width = 2 * tiles.cols + bw;
  T* columns = work;                        // (4, width): A down each column of the two rows
  T* zeros = work + 4 * width;              // (bw): the row past the output's last
  std::fill(work, work + 5 * width, T(0));  // an odd bw's last tile reads a zero column
  for (int64_t image = 0; image < images; ++image) {
    for (int64_t o = 0; o < g.O; ++o) {
      const T* plane = dy + ((first + image) * g.O + o) * bh * bw;  // (bh, bw)
      for (int64_t ty = 0; ty < tiles.rows; ++ty) {
        const T* row0 = plane + 2 * ty * bw;
        const T* row1 = 2 * ty + 1 < bh ? row0 + bw : zeros;
        gradient_rows_down(row0, row1, bw, columns, columns + width, columns + 2 * width,
                           columns + 3 * width);
        const int64_t first_tile = (image * tiles.rows + ty) * tiles.cols;
        const auto plane_of = [&](int64_t xi) {
          return f + (xi * g.O + o) * chunk_tiles + first_tile;
        };
        for (int64_t r = 0; r < 4; ++r) {  // grid row r of every tile: planes 4 r .. 4 r + 3
          gradient_tiles_along(columns + r * width, tiles.cols, plane_of(4 * r),
                               plane_of(4 * r + 1), plane_of(4 * r + 2), plane_of(4 * r + 3));
        }
      }
    }
  }
}

// G^T s G for a 4x4 grid s: the 3x3 filter it stands for. G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0;
// 0 1/2 1/2 1].
template <typename T>
void transform_grid_to_filter(const T s[16], T* filter) {
  T rows[3][4];  // G^T s: the grid's rows combined
  for (int col = 0; col < 4; ++col) {
    const T s0 = s[col], s1 = s[4 + col], s2 = s[8 + col], s3 = s[12 + col];
    rows[0][col] = s0 + (s1 + s2) / 2;
    rows[1][col] = (s1 - s2) / 2;
    rows[2][col] = (s1 + s2) / 2 + s3;
  }
  for (int row = 0; row < 3; ++row) {  // then G along each row
    const T s0 = rows[row][0], s1 = rows[row][1], s2 = rows[row][2], s3 = rows[row][3];
    filter[row * 3 + 0] = s0 + (s1 + s2) / 2;
    filter[row * 3 + 1] = (s1 - s2) / 2;
    filter[row * 3 + 2] = (s1 + s2) / 2 + s3;
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
  const int64_t work = 5 * (2 * tiles.cols + 2 + g.W);                  // the transforms' rows
  const int64_t per_worker = kGrid * (g.C + g.O) * chunk_tiles + work;  // V, M, work
  const std::vector<T> u = transformed_filters(g, weight);              // (16, O, C/g)
  const Scratch<T> scratch(cut.workers * per_worker);
  if (scratch.data() == nullptr)
    return scratch_error("conv2d_forward", int64_t{sizeof(T)} * (cut.workers * per_worker));
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

template <typename T>
int winograd_weight_gradient(const ConvGeometry& g, const heed_window2d& window, const T* x,
                             const T* dy, T* dweight) {
  const Tiles tiles{(window.blocks[0] + 1) / 2, (window.blocks[1] + 1) / 2};
  const Chunking cut = chunking_of(g, tiles.per_image(), kTilesPerProduct);
  const int64_t Cg = g.C / g.groups, Og = g.group_outputs();
  const int64_t chunk_tiles = cut.images * tiles.per_image();
  const int64_t work = 5 * (2 * tiles.cols + 2 + g.W + window.blocks[1]);  // the transforms' rows
  const int64_t sums = kGrid * g.O * Cg;  // a worker's S (16, O, C/g)
  const int64_t per_worker = kGrid * (g.C + g.O) * chunk_tiles + work + sums;  // V, F, work, S
  const Scratch<T> scratch(cut.workers * per_worker);
  if (scratch.data() == nullptr)
    return scratch_error("conv2d_backward", int64_t{sizeof(T)} * (cut.workers * per_worker));
  for (int64_t worker = 0; worker < cut.workers; ++worker) {
    T* s = scratch.data() + worker * per_worker + per_worker - sums;
    std::fill(s, s + sums, T(0));
  }
  for_each_chunk(g, cut, [&](int64_t worker, int64_t first, int64_t images) {
    T* v = scratch.data() + worker * per_worker;  // (16, C, tiles)
    T* f = v + kGrid * g.C * chunk_tiles;         // (16, O, tiles)
    T* work_rows = f + kGrid * g.O * chunk_tiles;
    T* s = work_rows + work;  // (16, O, C/g), summed over this worker's chunks
    const int64_t n = images * tiles.per_image();
    transform_inputs(g, window, tiles, x, first, images, v, work_rows);
    transform_output_gradients(g, window, tiles, dy, first, images, f, work_rows);
    for (int64_t xi = 0; xi < kGrid; ++xi) {
      for (int64_t group = 0; group < g.groups; ++group) {
        // S[xi] of the group (O/g, C/g) += F[xi] (O/g, n) @ V[xi] (C/g, n)^T
        gemm_row_major<T>(CblasNoTrans, CblasTrans, Og, Cg, n, T(1),
                          f + (xi * g.O + group * Og) * n, n, v + (xi * g.C + group * Cg) * n, n,
                          T(1), s + (xi * g.O + group * Og) * Cg, Cg);
      }
    }
  });
  // the workers' sums added in worker order, then each grid turned into its 3x3 filter
  for (int64_t o = 0; o < g.O; ++o) {
    for (int64_t c = 0; c < Cg; ++c) {
      T grid[kGrid] = {};
      for (int64_t worker = 0; worker < cut.workers; ++worker) {
        const T* s = scratch.data() + worker * per_worker + per_worker - sums;
        for (int64_t xi = 0; xi < kGrid; ++xi) grid[xi] += s[(xi * g.O + o) * Cg + c];
      }
      transform_grid_to_filter(grid, dweight + (o * Cg + c) * 9);
    }
  }
  return 0;
}

template int winograd_forward<float>(const ConvGeometry&, const heed_window2d&, const float*,
                                     const float*, const float*, float*);
template int winograd_forward<double>(const ConvGeometry&, const heed_window2d&, const double*,
                                      const double*, const double*, double*);

template int winograd_weight_gradient<float>(const ConvGeometry&, const heed_window2d&,
                                             const float*, const float*, float*);
template int winograd_weight_gradient<double>(const ConvGeometry&, const heed_window2d&,
                                              const double*, const double*, double*);

}  // namespace heed::cpu
