// The sliding window shared by the convolution and pooling ops (engine/ops/conv.cpp, pool.cpp):
// checking its sizes, counting its placements, and filling the heed_window2d kernels read.
#pragma once

#include "engine/backend.hpp"
#include "engine/error.hpp"
#include "engine/ops/common.hpp"
#include "engine/ops/conv.hpp"

namespace heed::ops {

inline const char* axis_name(int axis) {
  return axis == 0 ? "height" : "width";
}

// x as an image batch (N, C, H, W): a 4-d x as it is, a 3-d (C, H, W) one with a batch of one in
// front (undo with `as_input_was`).
inline Tensor as_image_batch(const char* op, const Tensor& x) {
  check_floating(op, x);
  if (x.dim() == 4) return x;
  if (x.dim() == 3) return x.unsqueeze(0);
  fail("{}: expected an input of shape (N, C, H, W) or (C, H, W), got {}", op,
       shape_str(x.shape()));
}
inline Tensor as_input_was(const Tensor& x, const Tensor& out) {
  return x.dim() == 3 ? out.squeeze(0) : out;
}

// a * b and a + b for sizes a user chose (kernel, stride, padding, dilation): an error, never a
// wrapped-around size.
inline int64_t checked_mul(const char* op, int64_t a, int64_t b) {
  int64_t result = 0;
  if (__builtin_mul_overflow(a, b, &result)) fail("{}: {} x {} overflows a size", op, a, b);
  return result;
}
inline int64_t checked_add(const char* op, int64_t a, int64_t b) {
  int64_t result = 0;
  if (__builtin_add_overflow(a, b, &result)) fail("{}: {} + {} overflows a size", op, a, b);
  return result;
}

struct Window2d {
  Size2d kernel, stride, padding, dilation;
};

// Sizes >= 1 (kernel, stride, dilation) and >= 0 (padding), named in the error.
inline void check_window(const char* op, const Window2d& w) {
  for (int axis = 0; axis < 2; ++axis) {
    if (w.kernel[axis] < 1 || w.stride[axis] < 1 || w.dilation[axis] < 1 || w.padding[axis] < 0) {
      fail(
          "{}: expected kernel size, stride and dilation >= 1 and padding >= 0 along {}, got "
          "kernel {}, stride {}, dilation {}, padding {}",
          op, axis_name(axis), w.kernel[axis], w.stride[axis], w.dilation[axis], w.padding[axis]);
    }
  }
}

// Placements of the window over an image of `size` pixels (height, width), PyTorch's
//   (size + 2 padding - dilation (kernel - 1) - 1) / stride + 1   per axis;
// at least one, or an error.
inline Size2d placements(const char* op, const Window2d& w, Size2d size) {
  Size2d blocks{};
  for (int axis = 0; axis < 2; ++axis) {
    const int64_t span =  // the window's extent
        checked_add(op, checked_mul(op, w.dilation[axis], w.kernel[axis] - 1), 1);
    const int64_t padded = checked_add(op, size[axis], checked_mul(op, 2, w.padding[axis]));
    if (padded < span) {
      fail(
          "{}: the {} {} padded by {} on each side is {}, smaller than the window's extent {} "
          "(kernel {}, dilation {})",
          op, axis_name(axis), size[axis], w.padding[axis], padded, span, w.kernel[axis],
          w.dilation[axis]);
    }
    blocks[axis] = (padded - span) / w.stride[axis] + 1;
  }
  return blocks;
}

inline heed_window2d kernel_window(const Window2d& w, Size2d blocks) {
  heed_window2d window{};
  for (int axis = 0; axis < 2; ++axis) {
    window.kernel[axis] = w.kernel[axis];
    window.stride[axis] = w.stride[axis];
    window.padding[axis] = w.padding[axis];
    window.dilation[axis] = w.dilation[axis];
    window.blocks[axis] = blocks[axis];
  }
  return window;
}

}  // namespace heed::ops
