// conv2d on the CPU in one kernel each way. The batch is cut into chunks of a few images and
// every thread takes a run of chunks. For each chunk a thread builds the columns
// (engine/cpu/im2col.hpp) in its own scratch, multiplies them at once (OpenBLAS, on that
// thread) and, in the backward, folds the columns' gradient back into dx: the columns are used
// while they are still in cache, and the whole batch's never exist. (The composed conv2d of
// engine/ops/conv.cpp writes all N x C kh kw x L of them to memory, reads them back, and keeps
// them for the backward; it is the reference these kernels are tested against.)
//
// A chunk's columns are laid out (C kh kw, images, L), its images side by side in each row, so
// one product per group covers the chunk. Images join a chunk until its products are about
// kColumnsPerProduct columns wide: a 4x4 map has L = 16, and 16-column products run far below
// the gemm's speed.
//
// Two other routes are taken where they pay: a 3x3 convolution at stride 1 with enough channels
// goes to Winograd's F(2x2, 3x3) (engine/cpu/winograd.cpp), and a stride-1 convolution's dx is
// computed as a convolution of dy (input_gradient_as_convolution below).
//
// conv_transpose2d runs on these kernels too (engine/ops/conv.cpp): it is conv2d's adjoint, so its
// forward is the backward's dx alone and its backward the forward and the weight's gradient.
#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/cpu/conv2d.hpp"
#include "engine/cpu/im2col.hpp"
#include "engine/dtype_dispatch.hpp"

namespace heed::cpu {

namespace {

constexpr int64_t kColumnsPerProduct = 512;

// The columns of images [first, first + images) of x into cols (C kh kw, images, L), and their
// adjoint: cols folded back into those images of dx.
template <typename T>
struct ChunkColumns {
  const ConvGeometry& g;
  const heed_window2d& window;
  TapSources sources = tap_sources(window, g.H, g.W);  // see im2col.hpp

  Planes planes(int64_t images) const {
    return {images * g.C, g.C, g.H, g.W, /*image_stride=*/g.L, /*row_stride=*/images * g.L};
  }
  void build(const T* x, int64_t first, int64_t images, T* cols) const {
    const Planes p = planes(images);
    const T* chunk = x + first * g.C * g.H * g.W;
    for (int64_t plane = 0; plane < p.count; ++plane)
      im2col_plane(chunk, window, p, plane, sources, cols);
  }
  void fold(const T* cols, int64_t first, int64_t images, T* dx) const {
    const Planes p = planes(images);
    T* chunk = dx + first * g.C * g.H * g.W;
    for (int64_t plane = 0; plane < p.count; ++plane)
      col2im_plane(cols, window, p, plane, sources, chunk);
  }
};

// y[n, o] = bias[o] + weight[o] . columns of image n: per chunk and group, one product
//   (O/g, K) @ (K, images L) -> (O/g, images L), then each image's rows moved to y with the bias.
template <typename T>
int forward(const ConvGeometry& g, const heed_window2d& window, const T* x, const T* weight,
            const T* bias, T* y) {
  if (winograd_applies(g, window)) return winograd_forward(g, window, x, weight, bias, y);
  const Chunking cut = chunking_of(g, g.L, kColumnsPerProduct);
  const int64_t Og = g.group_outputs(), K = g.group_rows(), L = g.L;
  const int64_t per_worker = (g.rows() + Og) * cut.images * L;  // columns, one group's product
  const Scratch<T> scratch(cut.workers * per_worker);
  if (scratch.data() == nullptr)
    return scratch_error("conv2d_forward", int64_t{sizeof(T)} * (cut.workers * per_worker));
  const ChunkColumns<T> columns{g, window};
  for_each_chunk(g, cut, [&](int64_t worker, int64_t first, int64_t images) {
    T* cols = scratch.data() + worker * per_worker;  // (C kh kw, images, L)
    T* product = cols + g.rows() * cut.images * L;   // (O/g, images L)
    const int64_t width = images * L;                // columns per product
    columns.build(x, first, images, cols);
    for (int64_t group = 0; group < g.groups; ++group) {
      // one image: the product is y's rows of this group already
      T* out = images == 1 ? y + (first * g.O + group * Og) * L : product;  // (O/g, images L)
      gemm_row_major<T>(CblasNoTrans, CblasNoTrans, Og, width, K, T(1), weight + group * Og * K, K,
                        cols + group * K * width, width, T(0), out, width);
      for (int64_t image = 0; image < images; ++image) {
        for (int64_t o = 0; o < Og; ++o) {
          T* row = y + ((first + image) * g.O + group * Og + o) * L;  // (L)
          if (out == product) std::memcpy(row, product + o * width + image * L, sizeof(T) * L);
          if (bias == nullptr) continue;
          const T b = bias[group * Og + o];
          for (int64_t l = 0; l < L; ++l) row[l] += b;
        }
      }
    }
  });
  return 0;
}

// When the window moves one pixel at a time, dx is itself a convolution: of dy, with the weight
// flipped in both spatial axes and its input and output channels swapped, and padding
// (k - 1) dilation - padding, so that every pixel meets each output it fed:
//   dx[n, c, y, x] = sum over o, i, j of weight[o, c, i, j] dy[n, o, y + p - i d, x + p - j d]
// Running it through forward() costs an im2col of dy and one more product, both fast, instead of
// col2im's scattered additions. That pays where x has at least as many channels as y (dy's
// columns are then no more than the ones col2im would fold, and the product is at least as
// tall: on (64, 64, 8, 8) -> 64 the backward took a fifth less time; on (64, 1, 8, 8) -> 32 this
// way was twice as slow as col2im), and wherever Winograd's F(2x2, 3x3) computes it
// (engine/cpu/winograd.cpp). Returns false (nothing done) where it does not apply or does not
// pay: a stride above 1, a padding wider than the kernel's reach, fewer input channels (unless
// Winograd computes dy's convolution).
template <typename T>
bool input_gradient_as_convolution(const ConvGeometry& g, const heed_window2d& window,
                                   const T* weight, const T* dy, T* dx, int& status) {
  heed_window2d flipped = window;
  for (int axis = 0; axis < 2; ++axis) {
    flipped.padding[axis] =
        (window.kernel[axis] - 1) * window.dilation[axis] - window.padding[axis];
    if (window.stride[axis] != 1 || flipped.padding[axis] < 0) return false;
  }
  flipped.blocks[0] = g.H;
  flipped.blocks[1] = g.W;
  const ConvGeometry dy_as_input{g.N, g.O,      window.blocks[0], window.blocks[1],
                                 g.C, g.groups, g.taps,           g.H * g.W};
  if (g.C < g.O && !winograd_applies(dy_as_input, flipped)) return false;
  const int64_t Cg = g.C / g.groups, Og = g.group_outputs(), kh = window.kernel[0],
                kw = window.kernel[1];
  // flipped_weight[group Cg + c, o, i, j] = weight[group Og + o, c, kh - 1 - i, kw - 1 - j]
  std::vector<T> flipped_weight(static_cast<size_t>(g.weights()));  // (C, O/g, kh, kw)
  for (int64_t group = 0; group < g.groups; ++group)
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t o = 0; o < Og; ++o)
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j)
            flipped_weight[static_cast<size_t>((((group * Cg + c) * Og + o) * kh + i) * kw + j)] =
                weight[(((group * Og + o) * Cg + c) * kh + kh - 1 - i) * kw + kw - 1 - j];
  status = forward<T>(dy_as_input, flipped, dy, flipped_weight.data(), nullptr, dx);
  return true;
}

// dbias[o] = the sum of dy[n, o] over the batch and the map, each channel summed in the same
// order whatever the threads, in double, in kLanes running sums (one sum would wait for each
// addition before the next: a chain of N L additions).
template <typename T>
void bias_gradient(const ConvGeometry& g, const T* dy, T* dbias) {
  constexpr int64_t kLanes = 8;
  parallel_range(g.O, 1, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      double lanes[kLanes] = {};
      double rest = 0;
      const int64_t whole = g.L - g.L % kLanes;  // pixels summed in the lanes
      for (int64_t n = 0; n < g.N; ++n) {
        const T* plane = dy + (n * g.O + o) * g.L;  // (L)
        for (int64_t l = 0; l < whole; l += kLanes)
          for (int64_t lane = 0; lane < kLanes; ++lane) lanes[lane] += plane[l + lane];
        for (int64_t l = whole; l < g.L; ++l) rest += plane[l];
      }
      for (const double lane : lanes) rest += lane;
      dbias[o] = static_cast<T>(rest);
    }
  });
}

// Per chunk, with dY the chunk's dy as (O, images L) and X its columns (C kh kw, images L):
//   dweight[group] += dY[group] @ X[group]^T     (summed over the chunks, per worker)
//   dX[group] = weight[group]^T @ dY[group], folded into dx (each pixel sums what it fed), where
//     dx is not a convolution of its own (input_gradient_as_convolution)
//   dbias[o] += sum of dY[o]
// (where Winograd applies, the weight's gradient comes from winograd_weight_gradient instead).
// x is read only for dweight: conv_transpose2d's forward, this dx alone, passes none.
template <typename T>
int backward(const ConvGeometry& g, const heed_window2d& window, const T* x, const T* weight,
             const T* dy, T* dx, T* dweight, T* dbias) {
  int status = 0;
  if (dx != nullptr && input_gradient_as_convolution(g, window, weight, dy, dx, status)) {
    if (status != 0) return status;
    dx = nullptr;  // done
  }
  if (dweight != nullptr && winograd_applies(g, window)) {
    status = winograd_weight_gradient(g, window, x, dy, dweight);
    if (status != 0) return status;
    dweight = nullptr;  // done
  }
  if (dx == nullptr && dweight == nullptr) {
    if (dbias != nullptr) bias_gradient(g, dy, dbias);
    return 0;
  }
  const Chunking cut = chunking_of(g, g.L, kColumnsPerProduct);
  const int64_t Og = g.group_outputs(), K = g.group_rows(), L = g.L;
  const int64_t per_worker = (g.rows() + g.O) * cut.images * L;  // columns, the chunk's dY
  const int64_t sums = g.weights() + g.O;  // a worker's partial dweight and dbias
  const Scratch<T> scratch(cut.workers * (per_worker + sums));
  if (scratch.data() == nullptr)
    return scratch_error("conv2d_backward",
                         int64_t{sizeof(T)} * (cut.workers * (per_worker + sums)));
  T* partial_sums = scratch.data() + cut.workers * per_worker;  // (workers, weights + O)
  std::fill(partial_sums, partial_sums + cut.workers * sums, T(0));
  const ChunkColumns<T> columns{g, window};
  for_each_chunk(g, cut, [&](int64_t worker, int64_t first, int64_t images) {
    T* cols = scratch.data() + worker * per_worker;  // (C kh kw, images, L)
    T* gathered = cols + g.rows() * cut.images * L;  // (O, images, L)
    T* dweight_sum = partial_sums + worker * sums;   // (groups, K, O/g)
    T* dbias_sum = dweight_sum + g.weights();        // (O)
    const int64_t width = images * L;
    if (dbias != nullptr) {
      for (int64_t o = 0; o < g.O; ++o) {
        double sum = 0;
        for (int64_t image = 0; image < images; ++image) {
          const T* row = dy + ((first + image) * g.O + o) * L;
          for (int64_t l = 0; l < L; ++l) sum += row[l];
        }
        dbias_sum[o] += static_cast<T>(sum);
      }
    }
    if (dweight == nullptr && dx == nullptr) return;
    const T* dY = dy + first * g.O * L;  // one image: dy's rows are (O, L) already
    if (images > 1) {
      for (int64_t image = 0; image < images; ++image) {
        for (int64_t o = 0; o < g.O; ++o) {
          std::memcpy(gathered + o * width + image * L, dy + ((first + image) * g.O + o) * L,
                      sizeof(T) * L);
        }
      }
      dY = gathered;
    }
    if (dweight != nullptr) {
      columns.build(x, first, images, cols);
      for (int64_t group = 0; group < g.groups; ++group) {
        // summed transposed, dweight[group]^T (K, O/g) += X[group] @ dY[group]^T: a tall, thin
        // product, measured a tenth to a third faster than dY X^T at these shapes
        gemm_row_major<T>(CblasNoTrans, CblasTrans, K, Og, width, T(1), cols + group * K * width,
                          width, dY + group * Og * width, width, T(1), dweight_sum + group * K * Og,
                          Og);
      }
    }
    if (dx != nullptr) {
      for (int64_t group = 0; group < g.groups; ++group) {  // the columns' gradient over cols
        gemm_row_major<T>(CblasTrans, CblasNoTrans, K, width, Og, T(1), weight + group * Og * K, K,
                          dY + group * Og * width, width, T(0), cols + group * K * width, width);
      }
      columns.fold(cols, first, images, dx);
    }
  });
  // the workers' partial sums, added in worker order into the first's (the same result every
  // run); each group's partial dweight is (K, O/g), transposed back into dweight's (O/g, K) in
  // tiles of kFew outputs by kRun rows, small enough to stay in cache (a whole column of
  // writes, K apart, falls in too few cache sets)
  if (dweight != nullptr) {
    T* total = partial_sums;  // (groups, K, O/g)
    for (int64_t worker = 1; worker < cut.workers; ++worker) {
      const T* partial = partial_sums + worker * sums;
      for (int64_t e = 0; e < g.weights(); ++e) total[e] += partial[e];
    }
    constexpr int64_t kFew = 16, kRun = 64;
    for (int64_t group = 0; group < g.groups; ++group) {
      const T* sums_of_group = total + group * K * Og;  // (K, O/g)
      T* out = dweight + group * Og * K;                // (O/g, K)
      for (int64_t o0 = 0; o0 < Og; o0 += kFew) {
        for (int64_t k0 = 0; k0 < K; k0 += kRun) {
          const int64_t o1 = std::min(o0 + kFew, Og), k1 = std::min(k0 + kRun, K);
          for (int64_t o = o0; o < o1; ++o)
            for (int64_t k = k0; k < k1; ++k) out[o * K + k] = sums_of_group[k * Og + o];
        }
      }
    }
  }
  if (dbias != nullptr) {
    for (int64_t o = 0; o < g.O; ++o) {
      T sum = 0;
      for (int64_t worker = 0; worker < cut.workers; ++worker)
        sum += partial_sums[worker * sums + g.weights() + o];
      dbias[o] = sum;
    }
  }
  return 0;
}

}  // namespace

int conv2d_forward(const heed_view* x, const heed_view* weight, const heed_view* bias,
                   const heed_window2d* window, int64_t groups, const heed_view* y) {
  int status = 0;
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    status = forward(geometry_of(x, weight, *window, groups), *window, typed<const T>(x),
                     typed<const T>(weight), bias ? typed<const T>(bias) : nullptr, typed<T>(y));
  });
  return status;
}

int conv2d_backward(const heed_view* x, const heed_view* weight, const heed_view* dy,
                    const heed_window2d* window, int64_t groups, const heed_view* dx,
                    const heed_view* dweight, const heed_view* dbias) {
  if (x == nullptr && (dweight != nullptr || dx == nullptr))
    return report_error("conv2d_backward",
                        "x is absent, yet dweight is asked or dx is absent too; dweight asked:",
                        dweight != nullptr);
  const heed_view* shaped_like_x = x != nullptr ? x : dx;  // x is read only for dweight
  int status = 0;
  visit_floating(weight->dtype, [&](auto zero) {
    using T = decltype(zero);
    status = backward(geometry_of(shaped_like_x, weight, *window, groups), *window,
                      x != nullptr ? typed<const T>(x) : nullptr, typed<const T>(weight),
                      typed<const T>(dy), dx ? typed<T>(dx) : nullptr,
                      dweight ? typed<T>(dweight) : nullptr, dbias ? typed<T>(dbias) : nullptr);
  });
  return status;
}

}  // namespace heed::cpu
