// Pooling: max_pool2d from a kernel that picks pixels and gather, avg_pool2d from unfold and a
// mean; both get their gradients from those ops.
#include "engine/ops/pool.hpp"

#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/index.hpp"
#include "engine/ops/reduce.hpp"
#include "engine/ops/window2d.hpp"

namespace heed {

namespace {

// The window, checked: PyTorch's limit of padding to half the kernel keeps most windows off the
// padding, and the kernel then needs every window to hold a pixel.
ops::Window2d checked_pool_window(const char* op, Size2d kernel, Size2d stride, Size2d padding,
                                  Size2d dilation) {
  const bool default_stride = stride == Size2d{0, 0};
  const ops::Window2d window{kernel, default_stride ? kernel : stride, padding, dilation};
  ops::check_window(op, window);
  for (int axis = 0; axis < 2; ++axis) {
    if (padding[axis] > kernel[axis] / 2) {
      fail(
          "{}: padding must be at most half the kernel size, got padding {} for a kernel of {} "
          "along {}",
          op, padding[axis], kernel[axis], ops::axis_name(axis));
    }
  }
  return window;
}

// Whether the window placed at `block` along `axis` covers at least one of the `size` pixels:
// its first tap at or after pixel 0 lies before pixel `size`. (Sizes passed placements(), so
// nothing here overflows.)
bool covers_a_pixel(const ops::Window2d& w, int axis, int64_t block, int64_t size) {
  const int64_t start = block * w.stride[axis] - w.padding[axis];
  const int64_t d = w.dilation[axis];
  const int64_t first_tap = start >= 0 ? 0 : (-start + d - 1) / d;
  return first_tap < w.kernel[axis] && start + first_tap * d < size;
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Size2d kernel_size, const MaxPool2dOptions& options) {
  const profiler::Scope profiled("max_pool2d");
  const char* op = "max_pool2d";
  const Tensor input = ops::as_image_batch(op, x).contiguous();  // (N, C, H, W)
  const ops::Window2d window =
      checked_pool_window(op, kernel_size, options.stride, options.padding, options.dilation);
  const int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  const Size2d blocks = ops::placements(op, window, {H, W});
  for (int axis = 0; axis < 2; ++axis) {
    for (int64_t block = 0; block < blocks[axis]; ++block) {
      if (!covers_a_pixel(window, axis, block, input.size(2 + axis))) {
        fail("max_pool2d: window {} along {} covers only padding (dilation {} skips every pixel)",
             block, ops::axis_name(axis), window.dilation[axis]);
      }
    }
  }
  const heed_window2d kernel_window = ops::kernel_window(window, blocks);
  Tensor indices = empty({N, C, blocks[0] * blocks[1]}, {kInt64, input.device()});  // (N, C, L)
  ops::call_kernel(input, &heed_backend::max_pool2d_indices, "max_pool2d_indices", input.detach(),
                   &kernel_window, indices);
  // y[n, c, l] = x[n, c, indices[n, c, l]]: gather's backward adds dy at the chosen pixels
  const Tensor y = gather(input.reshape({N, C, H * W}), 2, indices);  // (N, C, L)
  return ops::as_input_was(x, y.reshape({N, C, blocks[0], blocks[1]}));
}

Tensor avg_pool2d(const Tensor& x, Size2d kernel_size, const AvgPool2dOptions& options) {
  const profiler::Scope profiled("avg_pool2d");
  const char* op = "avg_pool2d";
  const Tensor input = ops::as_image_batch(op, x);  // (N, C, H, W)
  const ops::Window2d window =
      checked_pool_window(op, kernel_size, options.stride, options.padding, {1, 1});
  const int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  const Size2d blocks = ops::placements(op, window, {H, W});
  const UnfoldOptions unfold_options{.padding = window.padding, .stride = window.stride};
  // Each plane alone, so a column of unfold holds one window's pixels (padding as zeros).
  const Tensor cols =
      unfold(input.reshape({N * C, 1, H, W}), kernel_size, unfold_options);  // (N C, kh kw, L)
  Tensor y = sum(cols, {1});                                                 // (N C, L)
  if (options.count_include_pad) {
    y = y / double(kernel_size[0] * kernel_size[1]);
  } else {
    // the pixels inside each window: unfold of an image of ones
    const Tensor inside =
        sum(unfold(ones({1, 1, H, W}, {x.dtype(), x.device()}), kernel_size, unfold_options),
            {1});  // (1, L)
    y = y / inside;
  }
  return ops::as_input_was(x, y.reshape({N, C, blocks[0], blocks[1]}));
}

}  // namespace heed
