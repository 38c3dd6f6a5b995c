// Winograd's minimal filtering F(2x2, 3x3) for 3x3 convolutions at stride 1 (Lavin and Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2016), the CPU's conv2d where it applies.
//
// Cut the output into 2x2 tiles; each reads a 4x4 patch d of every input channel. With the 3x3
// filter g of (output o, input c), the tile is
//   y_tile = A^T [ (G g G^T) * (B^T d B) ] A          (* elementwise, over a 4x4 grid)
// with the fixed matrices below: 16 multiplications per tile and channel pair where the direct
// sum takes 36. Summed over input channels, each of the 16 grid positions xi is one product:
//   M[xi] (tiles, O) = V[xi] (tiles, C) @ U[xi]^T (C, O),   U = G g G^T,  V = B^T d B
// so a convolution becomes three passes: transform the input patches (V), 16 matrix products
// (OpenBLAS), transform each tile back (A^T M A) into y. The products do 16/36 of the direct
// convolution's multiply-adds; the transforms are additions and halvings (tests/test_conv.cpp
// holds float32 results to the composed convolution within 1e-5, and the weight's gradient,
// summed over the whole batch, to the exact answer within 2e-6 of its largest element). The same
// identity with the roles of output and filter exchanged, F(3x3, 2x2), gives the weight's gradient
// (further down).
//
// The transforms work channels-last: a chunk of images is first copied into (images, rows,
// columns, channels) with the padding's zeros around it, so that each pixel of a patch is a run
// of channels side by side. A tile's transform is then the same few additions for every channel,
// one vectorized loop along the run, whatever the map's size (on an 8x8 map a row holds only
// four tiles, too few for a loop along the row). The batch goes in chunks of images, as in
// engine/cpu/conv2d.cpp, so everything a chunk needs stays in cache.
#include <algorithm>
#include <vector>

#include "engine/cpu/conv2d.hpp"
#include "engine/cpu/fast_math.hpp"  // HEED_ALSO_FOR_AVX2, HEED_ITERATIONS_INDEPENDENT

namespace heed::cpu {

namespace {

constexpr int64_t kTilesPerProduct = 256;  // rows of each chunk's products
constexpr int64_t kGrid = 16;              // the 4x4 transformed tile

// The 16 grid positions' matrices (of V, M, U, ...) lie one after another, `elements` each, and
// a cache line apart: a tile writes (or reads) all 16 at once, and matrices whose sizes are
// multiples of 4 KiB would otherwise all fall in the same sets of the L1 cache, evicting each
// other.
constexpr int64_t kCacheLine = 64;  // bytes
template <typename T>
int64_t grid_plane(int64_t elements) {
  return elements + kCacheLine / int64_t{sizeof(T)};
}

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
// an (O/g, C/g) matrix; `plane` elements apart.
template <typename T>
void transform_filters(const ConvGeometry& g, const T* weight, int64_t plane, T* u) {
  const int64_t Cg = g.C / g.groups;
  for (int64_t o = 0; o < g.O; ++o) {
    for (int64_t c = 0; c < Cg; ++c) {
      T grid[kGrid];
      transform_filter(weight + (o * Cg + c) * 9, grid);
      for (int64_t xi = 0; xi < kGrid; ++xi) u[xi * plane + o * Cg + c] = grid[xi];
    }
  }
}

// A chunk of images channels-last: (images, rows, cols, channels), pixel (h, w) of an image at
// (top + h, left + w), zeros everywhere else.
struct ChannelsLast {
  int64_t rows, cols, channels;
  int64_t top, left;

  int64_t size(int64_t images) const { return images * rows * cols * channels; }
  // where pixel (row, col) of an image begins: a run of `channels` values
  int64_t at(int64_t image, int64_t row, int64_t col) const {
    return ((image * rows + row) * cols + col) * channels;
  }
};

// planes (images, channels, height, width) into `out`, laid out as `layout` says. Built twice
// (HEED_ALSO_FOR_AVX2), for AVX2 machines and for any x86-64, as the transforms below.
template <typename T>
HEED_ALSO_FOR_AVX2 void to_channels_last(const ChannelsLast& layout, const T* __restrict planes,
                                         int64_t images, int64_t height, int64_t width,
                                         T* __restrict out) {
  const int64_t channels = layout.channels, cols = layout.cols;
  for (int64_t image = 0; image < images; ++image) {  // the zeros: only where no pixel goes
    for (int64_t r = 0; r < layout.rows; ++r) {
      T* row = out + layout.at(image, r, 0);  // (cols, channels)
      if (r < layout.top || r >= layout.top + height) {
        std::fill(row, row + cols * channels, T(0));
      } else {
        std::fill(row, row + layout.left * channels, T(0));
        std::fill(row + (layout.left + width) * channels, row + cols * channels, T(0));
      }
    }
  }
  // then the pixels, one plane after another: the reads run along x (measured faster than
  // gathering a few channels at a time, whose reads jump between planes), the writes stay in
  // the chunk's scratch
  for (int64_t image = 0; image < images; ++image) {
    for (int64_t c = 0; c < channels; ++c) {
      const T* plane = planes + (image * channels + c) * height * width;  // (height, width)
      for (int64_t h = 0; h < height; ++h) {
        T* row = out + layout.at(image, layout.top + h, layout.left) + c;  // every `channels`
        for (int64_t w = 0; w < width; ++w) row[w * channels] = plane[h * width + w];
      }
    }
  }
}

// The reverse for a chunk of outputs: `outputs` (laid out as `layout`, top and left 0) into
// y's planes (images, channels, height, width), each plus its channel's bias (bias may be
// nullptr).
template <typename T>
HEED_ALSO_FOR_AVX2 void from_channels_last(const ChannelsLast& layout, const T* __restrict outputs,
                                           const T* bias, int64_t images, int64_t height,
                                           int64_t width, T* __restrict planes) {
  const int64_t channels = layout.channels;
  for (int64_t image = 0; image < images; ++image) {
    for (int64_t c = 0; c < channels; ++c) {
      T* plane = planes + (image * channels + c) * height * width;  // (height, width)
      const T b = bias == nullptr ? T(0) : bias[c];
      for (int64_t h = 0; h < height; ++h) {
        const T* row = outputs + layout.at(image, h, 0) + c;  // channel c of row h, every channels
        for (int64_t w = 0; w < width; ++w) plane[h * width + w] = row[w * channels] + b;
      }
    }
  }
}

// The transforms of one tile, every channel at once, each a loop along the channels that the
// compiler vectorizes (the arguments never overlap: __restrict; the runs of channels one
// iteration writes, in 16 planes or in 4 pixels, lie farther apart than the run is long, which
// HEED_ITERATIONS_INDEPENDENT tells it). `pixel` is the tile's first
// pixel in a ChannelsLast chunk, `row` the distance to the next row; `grid` the tile's place in
// the grid's first plane, `plane` the distance between planes. Built twice (HEED_ALSO_FOR_AVX2),
// for AVX2 machines and for any x86-64.

// V = B^T d B of a 4x4 patch d, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
template <typename T>
HEED_ALSO_FOR_AVX2 void transform_input_tile(const T* __restrict pixel, int64_t row,
                                             int64_t channels, int64_t plane, T* __restrict grid) {
  HEED_ITERATIONS_INDEPENDENT
  for (int64_t c = 0; c < channels; ++c) {
    T d[4][4];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) d[i][j] = pixel[i * row + j * channels + c];
    T bd[4][4];  // B^T d: the patch's rows combined
    for (int j = 0; j < 4; ++j) {
      bd[0][j] = d[0][j] - d[2][j];
      bd[1][j] = d[1][j] + d[2][j];
      bd[2][j] = d[2][j] - d[1][j];
      bd[3][j] = d[1][j] - d[3][j];
    }
    for (int i = 0; i < 4; ++i) {  // then B along each row
      grid[(4 * i + 0) * plane + c] = bd[i][0] - bd[i][2];
      grid[(4 * i + 1) * plane + c] = bd[i][1] + bd[i][2];
      grid[(4 * i + 2) * plane + c] = bd[i][2] - bd[i][1];
      grid[(4 * i + 3) * plane + c] = bd[i][1] - bd[i][3];
    }
  }
}

// The 2x2 output tile A^T m A of a 4x4 grid m, A^T = [1 1 1 0; 0 1 -1 -1].
template <typename T>
HEED_ALSO_FOR_AVX2 void transform_output_tile(const T* __restrict grid, int64_t plane,
                                              int64_t channels, int64_t row, T* __restrict pixel) {
  HEED_ITERATIONS_INDEPENDENT
  for (int64_t c = 0; c < channels; ++c) {
    T m[4][4];
    for (int xi = 0; xi < kGrid; ++xi) m[xi / 4][xi % 4] = grid[xi * plane + c];
    T am[2][4];  // A^T m: the grid's rows combined
    for (int j = 0; j < 4; ++j) {
      am[0][j] = m[0][j] + m[1][j] + m[2][j];
      am[1][j] = m[1][j] - m[2][j] - m[3][j];
    }
    for (int i = 0; i < 2; ++i) {  // then A along each row
      pixel[i * row + c] = am[i][0] + am[i][1] + am[i][2];
      pixel[i * row + channels + c] = am[i][1] - am[i][2] - am[i][3];
    }
  }
}

// For the weight's gradient: A f A^T of a 2x2 tile f of dy, A = [1 0; 1 1; 1 -1; 0 -1].
template <typename T>
HEED_ALSO_FOR_AVX2 void transform_gradient_tile(const T* __restrict pixel, int64_t row,
                                                int64_t channels, int64_t plane,
                                                T* __restrict grid) {
  HEED_ITERATIONS_INDEPENDENT
  for (int64_t c = 0; c < channels; ++c) {
    T f[2][2];
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) f[i][j] = pixel[i * row + j * channels + c];
    T af[4][2];  // A f: the tile's rows combined
    for (int j = 0; j < 2; ++j) {
      af[0][j] = f[0][j];
      af[1][j] = f[0][j] + f[1][j];
      af[2][j] = f[0][j] - f[1][j];
      af[3][j] = -f[1][j];
    }
    for (int i = 0; i < 4; ++i) {  // then A^T along each row
      grid[(4 * i + 0) * plane + c] = af[i][0];
      grid[(4 * i + 1) * plane + c] = af[i][0] + af[i][1];
      grid[(4 * i + 2) * plane + c] = af[i][0] - af[i][1];
      grid[(4 * i + 3) * plane + c] = -af[i][1];
    }
  }
}

// The patches a chunk's tiles read, channels-last: tile (ty, tx) reads rows 2 ty .. 2 ty + 3 and
// columns 2 tx .. 2 tx + 3, the image placed after the padding. 2 rows + 2 rows and 2 cols + 2
// columns hold every patch, and the whole image: its rows start at row `padding` and end at
// padding + H = bh + 2 - padding <= 2 rows + 2 (the columns alike).
ChannelsLast patches_of(const ConvGeometry& g, const heed_window2d& window, const Tiles& tiles) {
  return {2 * tiles.rows + 2, 2 * tiles.cols + 2, g.C, window.padding[0], window.padding[1]};
}

// Tiles' outputs (or dy's tiles), channels-last: 2 rows x 2 cols pixels (rows and cols of
// tiles) of O channels, the output at the top left, zeros past its edge.
ChannelsLast outputs_of(const ConvGeometry& g, const Tiles& tiles) {
  return {2 * tiles.rows, 2 * tiles.cols, g.O, 0, 0};
}

// Calls body(tile, corner) for every 2x2 tile of a chunk's images in order: `tile` its index
// among the chunk's tiles, `corner` the place of its top left pixel in `layout`.
template <typename Body>
void for_each_tile(const Tiles& tiles, int64_t images, const ChannelsLast& layout, Body&& body) {
  for (int64_t image = 0; image < images; ++image)
    for (int64_t ty = 0; ty < tiles.rows; ++ty)
      for (int64_t tx = 0; tx < tiles.cols; ++tx)
        body((image * tiles.rows + ty) * tiles.cols + tx, layout.at(image, 2 * ty, 2 * tx));
}

// V (16, tiles, C) of images [first, first + images) of x, its planes grid_plane(tiles C) apart,
// through `patches` (the chunk channels-last).
template <typename T>
void transform_inputs(const ConvGeometry& g, const ChannelsLast& layout, const Tiles& tiles,
                      const T* x, int64_t first, int64_t images, T* patches, T* v) {
  to_channels_last(layout, x + first * g.C * g.H * g.W, images, g.H, g.W, patches);
  const int64_t plane = grid_plane<T>(images * tiles.per_image() * g.C);
  for_each_tile(tiles, images, layout, [&](int64_t tile, int64_t corner) {
    transform_input_tile(patches + corner, layout.cols * g.C, g.C, plane, v + tile * g.C);
  });
}

// y (+ bias) of images [first, first + images) from M (16, tiles, O; planes grid_plane(tiles O)
// apart), through `outputs` (the chunk's output tiles channels-last, the part past the output's
// edge dropped).
template <typename T>
void transform_outputs(const ConvGeometry& g, const heed_window2d& window,
                       const ChannelsLast& layout, const Tiles& tiles, const T* m, const T* bias,
                       int64_t first, int64_t images, T* outputs, T* y) {
  const int64_t plane = grid_plane<T>(images * tiles.per_image() * g.O);
  for_each_tile(tiles, images, layout, [&](int64_t tile, int64_t corner) {
    transform_output_tile(m + tile * g.O, plane, g.O, layout.cols * g.O, outputs + corner);
  });
  from_channels_last(layout, outputs, bias, images, window.blocks[0], window.blocks[1],
                     y + first * g.O * window.blocks[0] * window.blocks[1]);
}

// For the weight's gradient, F(3x3, 2x2): each 2x2 tile f of dy meets the same 4x4 patch d of
// the input as in the forward, and contributes to every 3x3 filter
//   dweight_tile = G^T [ (A f A^T) * (B^T d B) ] G
// (the forward's identity with the roles of output and filter exchanged). Summed over tiles,
// each grid position is one product:  S[xi] (O, C) = F[xi]^T (O, tiles) @ V[xi] (tiles, C).
//
// F (16, tiles, O; planes grid_plane(tiles O) apart) of images [first, first + images) of dy,
// through `outputs` (dy's tiles channels-last, zeros past the output's edge).
template <typename T>
void transform_output_gradients(const ConvGeometry& g, const heed_window2d& window,
                                const ChannelsLast& layout, const Tiles& tiles, const T* dy,
                                int64_t first, int64_t images, T* outputs, T* f) {
  const int64_t bh = window.blocks[0], bw = window.blocks[1];
  to_channels_last(layout, dy + first * g.O * bh * bw, images, bh, bw, outputs);
  const int64_t plane = grid_plane<T>(images * tiles.per_image() * g.O);
  for_each_tile(tiles, images, layout, [&](int64_t tile, int64_t corner) {
    transform_gradient_tile(outputs + corner, layout.cols * g.O, g.O, plane, f + tile * g.O);
  });
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
  // With few channels the products are thin and the transforms cost more than the
  // multiplications saved: the first layer of an image model, 1 or 3 channels, stays on im2col.
  // Maps down to 4x4 (four tiles an image) pay: a (64, 32, 4, 4) -> 64 convolution forward and
  // backward took 0.75 ms against 1.3 ms by im2col.
  constexpr int64_t kMinChannels = 8, kMinSide = 4;
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
  const ChannelsLast patches = patches_of(g, window, tiles), outputs = outputs_of(g, tiles);
  const int64_t per_worker = patches.size(cut.images) + kGrid * grid_plane<T>(g.C * chunk_tiles) +
                             kGrid * grid_plane<T>(g.O * chunk_tiles) +
                             outputs.size(cut.images);      // patches, V, M, outputs
  const int64_t filters = kGrid * grid_plane<T>(g.O * Cg);  // U, shared
  const Scratch<T> scratch(cut.workers * per_worker + filters);
  if (scratch.data() == nullptr)
    return scratch_error("conv2d_forward",
                         int64_t{sizeof(T)} * (cut.workers * per_worker + filters));
  T* u = scratch.data() + cut.workers * per_worker;  // (16, O, C/g)
  transform_filters(g, weight, grid_plane<T>(g.O * Cg), u);
  for_each_chunk(g, cut, [&](int64_t worker, int64_t first, int64_t images) {
    T* chunk = scratch.data() + worker * per_worker;        // (images, rows, cols, C)
    T* v = chunk + patches.size(cut.images);                // (16, tiles, C)
    T* m = v + kGrid * grid_plane<T>(g.C * chunk_tiles);    // (16, tiles, O)
    T* out = m + kGrid * grid_plane<T>(g.O * chunk_tiles);  // (images, rows, cols, O)
    const int64_t n = images * tiles.per_image();  // this chunk's tiles: the products' rows
    // V and M are laid out with this chunk's n rows (a last chunk may have fewer images)
    const int64_t v_plane = grid_plane<T>(n * g.C), m_plane = grid_plane<T>(n * g.O),
                  u_plane = grid_plane<T>(g.O * Cg);
    transform_inputs(g, patches, tiles, x, first, images, chunk, v);
    for (int64_t xi = 0; xi < kGrid; ++xi) {
      for (int64_t group = 0; group < g.groups; ++group) {
        // M[xi] of the group (n, O/g) = V[xi] (n, C/g) @ U[xi]^T (C/g, O/g)
        gemm_row_major<T>(CblasNoTrans, CblasTrans, n, Og, Cg, T(1), v + xi * v_plane + group * Cg,
                          g.C, u + xi * u_plane + group * Og * Cg, Cg, T(0),
                          m + xi * m_plane + group * Og, g.O);
      }
    }
    transform_outputs(g, window, outputs, tiles, m, bias, first, images, out, y);
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
  const ChannelsLast patches = patches_of(g, window, tiles), outputs = outputs_of(g, tiles);
  const int64_t s_plane = grid_plane<T>(g.O * Cg);
  const int64_t sums = kGrid * s_plane;  // a worker's S (16, O, C/g)
  const int64_t per_worker = patches.size(cut.images) + kGrid * grid_plane<T>(g.C * chunk_tiles) +
                             kGrid * grid_plane<T>(g.O * chunk_tiles) + outputs.size(cut.images) +
                             sums;  // patches, V, F, dy's tiles, S
  const Scratch<T> scratch(cut.workers * per_worker);
  if (scratch.data() == nullptr)
    return scratch_error("conv2d_backward", int64_t{sizeof(T)} * (cut.workers * per_worker));
  for (int64_t worker = 0; worker < cut.workers; ++worker) {
    T* s = scratch.data() + worker * per_worker + per_worker - sums;
    std::fill(s, s + sums, T(0));
  }
  for_each_chunk(g, cut, [&](int64_t worker, int64_t first, int64_t images) {
    T* chunk = scratch.data() + worker * per_worker;             // (images, rows, cols, C)
    T* v = chunk + patches.size(cut.images);                     // (16, tiles, C)
    T* f = v + kGrid * grid_plane<T>(g.C * chunk_tiles);         // (16, tiles, O)
    T* dy_tiles = f + kGrid * grid_plane<T>(g.O * chunk_tiles);  // (images, rows, cols, O)
    T* s = dy_tiles + outputs.size(cut.images);  // (16, O, C/g), summed over the chunks
    const int64_t n = images * tiles.per_image();
    const int64_t v_plane = grid_plane<T>(n * g.C), f_plane = grid_plane<T>(n * g.O);
    transform_inputs(g, patches, tiles, x, first, images, chunk, v);
    transform_output_gradients(g, window, outputs, tiles, dy, first, images, dy_tiles, f);
    for (int64_t xi = 0; xi < kGrid; ++xi) {
      for (int64_t group = 0; group < g.groups; ++group) {
        // S[xi] of the group (O/g, C/g) += F[xi]^T (O/g, n) @ V[xi] (n, C/g)
        gemm_row_major<T>(CblasTrans, CblasNoTrans, Og, Cg, n, T(1), f + xi * f_plane + group * Og,
                          g.O, v + xi * v_plane + group * Cg, g.C, T(1),
                          s + xi * s_plane + group * Og * Cg, Cg);
      }
    }
  });
  // the workers' sums added in worker order, then each grid turned into its 3x3 filter
  for (int64_t o = 0; o < g.O; ++o) {
    for (int64_t c = 0; c < Cg; ++c) {
      T grid[kGrid] = {};
      for (int64_t worker = 0; worker < cut.workers; ++worker) {
        const T* s = scratch.data() + worker * per_worker + per_worker - sums;
        for (int64_t xi = 0; xi < kGrid; ++xi) grid[xi] += s[xi * s_plane + o * Cg + c];
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
